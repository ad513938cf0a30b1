"""Encoding images with a model: one traced encoder for the metrics, the
information flow and the visualisations (the only TensorFlow step of an
evaluation).

The original evaluation encodes every image in the dataset's canonical
order at alpha = 1, concatenates the ladders'
posteriors (ladder 1, the bottom, first: ``K = L * z_dim`` columns) and draws
one sample per image. The metrics cores (``mig.py`` and friends) then work on
NumPy arrays only.
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Callable, Optional, Sequence

import numpy as np
import tensorflow as tf

from provlae_tf.data.base import ImageSource, to_float
from provlae_tf.distributions import mean_kl_per_ladder, sample_posterior
from provlae_tf.datasets import IMAGE_SIZE

ProgressFn = Callable[[int, int], None]


@dataclasses.dataclass(frozen=True)
class EncodedDataset:
    """Posteriors of every encoded image, ladders concatenated (ladder 1 first).

    Attributes:
        means: ``(N, K)`` posterior means.
        log_vars: ``(N, K)`` posterior log-variances (as ``model.encode``
            returns them).
        samples: ``(N, K)`` one draw from each posterior.
        indices: ``(N,)`` dataset index of each row.
    """
    means: np.ndarray
    log_vars: np.ndarray
    samples: np.ndarray
    indices: np.ndarray

    @property
    def params(self) -> np.ndarray:
        """``(N, K, 2)`` mean and log standard deviation (the estimator's)."""
        return np.stack([self.means, 0.5 * self.log_vars], axis=-1)

    def kl_per_ladder(self, z_dim: int) -> np.ndarray:
        """Mean over rows of ``KL(q(z_l | x) || p(z_l))`` per ladder (nats),
        scored by tfp (:func:`provlae_tf.distributions.mean_kl_per_ladder`)."""
        return mean_kl_per_ladder(self.means, self.log_vars, z_dim)


# One traced encoder per model, kept while the model lives: encoding again
# (every stage end, every --mode=3) reuses its graphs instead of tracing anew.
_ENCODERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def encoder_function(model):
    """A traced ``x -> (means, log_vars, raw_log_vars)``, each ``(n, K)``
    (ladder 1's columns first), at alpha = 1 and the model's current stage:
    the log-variances as ``model.encode`` returns them (clipped in the
    networks that clip) and before the clip (what the model samples from).

    Traced once per stage for any number of images: a batch dimension of
    None, so the last, smaller batch of a dataset reuses the graph.
    """
    if model not in _ENCODERS:
        @tf.function(autograph=False)
        def encode(x, stage: int):  # the stage is part of the trace key
            ladders = model.encode(x, alpha=1.0, stage=stage, clip=False)
            raw = tf.concat([log_var for _, log_var in ladders], axis=1)
            return (tf.concat([mean for mean, _ in ladders], axis=1),
                    model.clip_log_var(raw), raw)
        _ENCODERS[model] = encode
    images = tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE,
                            model.config.channels], tf.float32)
    return _ENCODERS[model].get_concrete_function(images,
                                                  stage=int(model.stage))


def encode_images(model, x: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(means, log_vars, raw_log_vars)`` of float images ``x`` ``(n, H,
    W, C)`` as float32 ``(n, K)`` arrays (see :func:`encoder_function`)."""
    return tuple(t.numpy() for t in encoder_function(model)(
        tf.constant(x, tf.float32)))


# Reference: docs/original.md#mig-estimator
def encode_dataset(model, source: ImageSource, rng: np.random.Generator, *,
                   indices: Optional[Sequence[int]] = None,
                   batch_size: int = 1000,
                   progress: Optional[ProgressFn] = None) -> EncodedDataset:
    """Encodes ``source`` (or its ``indices``) and samples one code per image.

    The sampling noise is drawn for all rows at once from ``rng``, so the
    result does not depend on ``batch_size``.

    Args:
        model: a :class:`~provlae_tf.model.ladder.ProVLAE` at its stage.
        source: the images, in canonical order.
        rng: the sampling noise.
        indices: rows to encode (default: every image, in order).
        batch_size: images per forward pass.
        progress: called as ``progress(done, total)`` after every batch.
    """
    indices = (np.arange(source.num_examples) if indices is None
               else np.asarray(indices, np.int64))
    means, log_vars = [], []
    for start in range(0, len(indices), batch_size):
        part = indices[start:start + batch_size]
        mean, log_var, _ = encode_images(
            model, to_float(source.images(part), source.max_value))
        means.append(mean)
        log_vars.append(log_var)
        if progress is not None:
            progress(start + len(part), len(indices))
    means = np.concatenate(means).astype(np.float64)
    log_vars = np.concatenate(log_vars).astype(np.float64)
    noise = rng.standard_normal(means.shape)
    # Reference: docs/original.md#log-variance-clip
    # The original's metric samples from the log-variances its encoder
    # returns: the clipped ones in the networks that clip (unlike training,
    # whose sample is drawn before the clip).
    samples = sample_posterior(means, log_vars, noise)
    return EncodedDataset(means, log_vars, samples, indices)
