"""disentanglement_lib's histogram MIG ("mig_histogram"), without sklearn.

Each latent's posterior means are discretised into ``num_bins`` equal-width
bins (the edges of ``np.histogram``, the last edge left out so the maximum
falls in the top bin); the discrete mutual information of every (latent,
factor) pair is computed from its contingency table, in nats; the score is
the mean over factors of (largest - second largest MI over latents) divided
by the factor's entropy.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from provlae_tf.metrics.factor_vae import GroundTruth, represent_in_batches
from provlae_tf.metrics.mig import top_two_gap


@dataclasses.dataclass(frozen=True)
class HistogramMigResult:
    """Attributes:
        mig: the score (mean over the factors with non-zero entropy).
        mutual_information: ``(K, F)`` discrete MI in nats.
        factor_entropies: ``(F,)`` in nats.
    """
    mig: float
    mutual_information: np.ndarray
    factor_entropies: np.ndarray


def discretize(codes: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """``(N, K)`` bin indices in ``1..num_bins`` of each latent's values."""
    codes = np.asarray(codes, np.float64)
    out = np.empty(codes.shape, np.int64)
    for j in range(codes.shape[1]):
        edges = np.histogram(codes[:, j], num_bins)[1]
        out[:, j] = np.digitize(codes[:, j], edges[:-1])
    return out


def _dense_labels(labels: np.ndarray) -> tuple:
    """Labels renumbered ``0..n-1`` column by column, and each column's n."""
    dense = np.empty(labels.shape, np.int64)
    sizes = []
    for j in range(labels.shape[1]):
        values, dense[:, j] = np.unique(labels[:, j], return_inverse=True)
        sizes.append(values.size)
    return dense, sizes


def discrete_mutual_info(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(Kx, Ky)`` mutual information in nats between integer label columns.

    Args:
        x: ``(N, Kx)`` labels.
        y: ``(N, Ky)`` labels.
    """
    x, x_sizes = _dense_labels(np.asarray(x).reshape(len(x), -1))
    y, y_sizes = _dense_labels(np.asarray(y).reshape(len(y), -1))
    num = x.shape[0]
    out = np.empty((x.shape[1], y.shape[1]))
    for i, nx in enumerate(x_sizes):
        for k, ny in enumerate(y_sizes):
            joint = np.bincount(x[:, i] * ny + y[:, k],
                                minlength=nx * ny).reshape(nx, ny) / num
            outer = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)
            nz = joint > 0
            out[i, k] = float(np.sum(joint[nz]
                                     * np.log(joint[nz] / outer[nz])))
    return out


def discrete_entropy(labels: np.ndarray) -> np.ndarray:
    """``(K,)`` entropy in nats of each integer label column."""
    labels = np.asarray(labels).reshape(len(labels), -1)
    out = np.empty(labels.shape[1])
    for j in range(labels.shape[1]):
        p = np.unique(labels[:, j], return_counts=True)[1] / labels.shape[0]
        out[j] = float(-np.sum(p * np.log(p)))
    return out


def histogram_mig(codes: np.ndarray, factors: np.ndarray,
                  num_bins: int = 20) -> HistogramMigResult:
    """Histogram MIG of posterior means ``(N, K)`` against factors ``(N, F)``.

    A factor that is constant in the sample (entropy 0) has no defined gap: it
    is left out of the mean (the score is NaN when every factor is constant).
    With a single latent the second largest MI is taken as 0.
    """
    mi = discrete_mutual_info(discretize(codes, num_bins), factors)
    entropy = discrete_entropy(factors)
    gaps = top_two_gap(mi, axis=0)
    informative = entropy > 0
    mig = (float(np.mean(gaps[informative] / entropy[informative]))
           if informative.any() else float("nan"))
    return HistogramMigResult(mig, mi, entropy)


def histogram_mig_from_ground_truth(ground_truth: GroundTruth,
                                    represent: Callable[[np.ndarray],
                                                        np.ndarray],
                                    rng: np.random.Generator,
                                    num_train: int = 10000,
                                    num_bins: int = 20) -> HistogramMigResult:
    """``histogram_mig`` on ``num_train`` random observations (dlib's setup)."""
    factors = ground_truth.sample_factors(num_train, rng)
    observations = ground_truth.sample_observations_from_factors(factors, rng)
    return histogram_mig(represent_in_batches(represent, observations),
                         factors, num_bins)
