"""Synthetic ground truths and codes whose metric values are known.

For tests, examples and benchmarks: no dataset, no model.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from provlae_tf import factor_grid


class FactorsAsObservations:
    """A ground truth whose observation of a combination is the combination.

    ``represent = lambda x: x`` is then a perfectly disentangled code.

    Args:
        factor_sizes: number of values of each factor.
    """

    def __init__(self, factor_sizes: Sequence[int]):
        self.factor_sizes = tuple(int(s) for s in factor_sizes)

    def sample_factors(self, num: int, rng: np.random.Generator) -> np.ndarray:
        """``num`` uniformly random combinations ``(num, F)``."""
        return factor_grid.sample_classes(self.factor_sizes, num, rng)

    def sample_observations_from_factors(self, factors: np.ndarray,
                                         rng: np.random.Generator
                                         ) -> np.ndarray:
        """The factors as float64 (``rng`` unused)."""
        del rng
        return np.asarray(factors, np.float64)


def gaussian_code(means: np.ndarray, sigma: float,
                  rng: np.random.Generator) -> tuple:
    """``(samples, params)`` of posteriors ``N(means, sigma^2)``, one sample each.

    Args:
        means: ``(N, K)`` posterior means.
        sigma: the posterior standard deviation of every latent.
        rng: draws the samples.

    Returns:
        ``samples (N, K)`` and ``params (N, K, 2)`` (mean, log sigma).
    """
    means = np.asarray(means, np.float64)
    params = np.stack([means, np.full(means.shape, np.log(sigma))], axis=-1)
    return means + sigma * rng.standard_normal(means.shape), params
