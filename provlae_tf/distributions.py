"""Probability model of pro-VLAE: posteriors, priors, likelihood, per-ladder KL.

The model returns tensors; this module wraps them in
``tensorflow_probability`` distributions. The KL used in the training loss is
the original's closed form (:func:`kl_to_standard_normal`), which equals
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
