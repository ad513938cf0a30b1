"""Probability model of pro-VLAE: posteriors, priors, likelihood, per-ladder KL.

The model returns tensors; this module wraps them in
``tensorflow_probability`` distributions. The prior draws of the outputs
(:func:`sample_prior`) and the KL the reports show (:func:`mean_kl_per_ladder`)
come from these distributions. The KL used in the training loss is the
original's closed form (:func:`kl_to_standard_normal`), which equals
``tfd.kl_divergence(posterior, prior)`` up to rounding (a test checks it).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions


def posterior(mean: tf.Tensor, log_var: tf.Tensor) -> tfd.Distribution:
    """q(z_l | x): a diagonal Normal with event shape (z_dim,)."""
    scale = tf.exp(0.5 * log_var)
    return tfd.Independent(tfd.Normal(mean, scale), reinterpreted_batch_ndims=1)


def sample_posterior(mean, log_var, noise):
    """The reparameterised draw from q(z_l | x): ``mean + sqrt(exp(log_var)) * noise``.

    The one sampling rule of training, evaluation and the metrics. Works on
    TensorFlow tensors (in the model) and on NumPy arrays (the metrics draw
    their noise for a whole dataset at once).

    Reference: docs/original.md#log-variance-clip
    The CelebA model clips its log-variances after this draw, so pass the
    unclipped ones here.
    """
    if isinstance(mean, np.ndarray):
        return mean + np.sqrt(np.exp(log_var)) * noise
    return mean + tf.sqrt(tf.exp(log_var)) * noise


def prior(z_dim: int, dtype=tf.float32) -> tfd.Distribution:
    """p(z_l) = N(0, I) with event shape (z_dim,)."""
    return tfd.Independent(
        tfd.Normal(tf.zeros([z_dim], dtype), tf.ones([z_dim], dtype)),
        reinterpreted_batch_ndims=1)


def stateless_seed(rng: np.random.Generator) -> tf.Tensor:
    """A stateless seed (``int32[2]``) for tfp's ``sample``, drawn from a
    NumPy stream.

    An int seed would make tfp draw statefully (from TensorFlow's global
    seed and op counters); a pair drawn from the stream makes tfp's draws
    exactly as reproducible as the stream's own.
    """
    info = np.iinfo(np.int32)
    return tf.constant(rng.integers(info.min, info.max, size=2,
                                    endpoint=True, dtype=np.int32))


def sample_prior(z_dim: int, count: int,
                 rng: np.random.Generator) -> np.ndarray:
    """``count`` draws from the prior p(z_l) = N(0, I): ``(count, z_dim)``
    float32, seeded by one :func:`stateless_seed` from ``rng``."""
    return prior(z_dim).sample(count, seed=stateless_seed(rng)).numpy()


# Bounds the TensorFlow temporaries of a whole dataset's KL (dSprites:
# 737,280 rows).
_KL_ROWS = 65536


def mean_kl_per_ladder(means: np.ndarray, log_vars: np.ndarray,
                       z_dim: int) -> np.ndarray:
    """Mean over rows of ``KL(q(z_l | x) || p(z_l))`` per ladder (nats), as
    tfp scores it: ``tfd.kl_divergence(posterior, prior)``.

    Args:
        means: ``(N, L * z_dim)`` posterior means, ladders concatenated
            (ladder 1 first).
        log_vars: their log-variances, the same shape.
        z_dim: latents per ladder.

    Returns:
        ``(L,)`` float64 (scored in float64 for float64 inputs, else in
        float32).
    """
    means, log_vars = np.asarray(means), np.asarray(log_vars)
    rows = len(means)
    means = means.reshape(rows, -1, z_dim)
    log_vars = log_vars.reshape(rows, -1, z_dim)
    dtype = tf.float64 if means.dtype == np.float64 else tf.float32
    total = np.zeros(means.shape[1], np.float64)
    for start in range(0, rows, _KL_ROWS):
        part = slice(start, start + _KL_ROWS)
        kl = tfd.kl_divergence(
            posterior(tf.constant(means[part], dtype),
                      tf.constant(log_vars[part], dtype)),
            prior(z_dim, dtype))
        total += np.sum(kl.numpy(), axis=0, dtype=np.float64)
    return total / rows


# Reference: docs/original.md#bernoulli-likelihood
def likelihood(logits: tf.Tensor) -> tfd.Distribution:
    """p(x | z): independent Bernoulli pixels (colour images too), event (H, W, C)."""
    return tfd.Independent(tfd.Bernoulli(logits=logits),
                           reinterpreted_batch_ndims=3)


def kl_to_standard_normal(mean: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) per example, summed over dims.

    Reference: docs/original.md#loss-weights
    The original's expression, ``-0.5 * sum(1 + log_var - mean^2 -
    exp(log_var))``.
    """
    return -0.5 * tf.reduce_sum(
        1.0 + log_var - tf.square(mean) - tf.exp(log_var), axis=1)


# Reference: docs/original.md#bernoulli-likelihood
def reconstruction_loss(x: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Per-example negative Bernoulli log-likelihood (sigmoid cross-entropy
    summed over pixels), as the original's reconstruction term."""
    return tf.reduce_sum(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits),
        axis=[1, 2, 3])
