"""Chen et al.'s (2018) estimate of the entropies of the aggregate posterior.

For a set ``R`` of dataset rows with diagonal Gaussian posteriors
``q(z | x_n) = N(mu_n, sigma_n^2)`` and one posterior sample ``z_n`` per row,
the entropy of latent ``j`` under the aggregate posterior
``q(z_j) = 1/|R| sum_{n in R} q(z_j | x_n)`` is estimated on a subsample
``s_1..s_S`` of ``R``::

    H(z_j) ~= mean_s [ log |R| - logsumexp_{n in R} log N(z_{s j}; mu_nj, sigma_nj) ]

Reference: docs/original.md#mig-estimator
pro-VLAE's metric code (after Chen et al.) draws the subsample as the first
``S`` entries of a random permutation of ``R``, so ``S`` becomes ``|R|``
when the rows are fewer; the sum runs over every row of ``R``, the
subsampled rows included.

Posterior parameters are stored as in the original, ``params[..., 0]`` the mean
and ``params[..., 1]`` the log standard deviation (not the log variance: see
``params_from_mean_logvar``).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from provlae_tf.metrics.fast_mixture import log_mixture_fast
from provlae_tf.metrics.mixture import log_mixture_brute

METHODS = ("fast", "brute")


def params_from_mean_logvar(mean: np.ndarray,
                            logvar: np.ndarray) -> np.ndarray:
    """Stack an encoder's mean and log variance into ``(N, K, 2)`` params."""
    mean = np.asarray(mean, np.float64)
    return np.stack([mean, 0.5 * np.asarray(logvar, np.float64)], axis=-1)


# Reference: docs/original.md#mig-estimator
def draw_subsample(num_rows: int, num_samples: int,
                   rng: np.random.Generator) -> np.ndarray:
    """``min(num_samples, num_rows)`` distinct positions in ``range(num_rows)``."""
    return rng.permutation(num_rows)[:num_samples]


def log_aggregate_density(queries: np.ndarray, means: np.ndarray,
                          log_sigmas: np.ndarray, method: str = "fast",
                          rtol: float = 1e-9) -> np.ndarray:
    """``log sum_n N(q; mu_n, sigma_n)`` by the chosen evaluator (1-D)."""
    if method == "fast":
        return log_mixture_fast(queries, means, log_sigmas, rtol=rtol)
    if method == "brute":
        return log_mixture_brute(queries, means, log_sigmas)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


# Reference: docs/original.md#mig-estimator
def subsample_entropies(samples: np.ndarray, params: np.ndarray,
                        rows: Optional[np.ndarray], subsample: np.ndarray,
                        method: str = "fast", rtol: float = 1e-9
                        ) -> np.ndarray:
    """Per-latent entropy estimates over ``rows`` from a given subsample.

    Args:
        samples: ``(N, K)`` one posterior sample per row.
        params: ``(N, K, 2)`` posterior mean and log standard deviation.
        rows: indices of the rows of ``R`` (``None``: all ``N`` rows).
        subsample: positions within ``rows`` of the rows whose samples are the
            query points.
        method: ``"fast"`` (certified to ``rtol``) or ``"brute"``.
        rtol: relative error allowed per density (``"fast"`` only).

    Returns:
        ``(K,)`` float64 entropies in nats.
    """
    samples = np.asarray(samples)
    params = np.asarray(params)
    if rows is not None:
        samples, params = samples[rows], params[rows]
    subsample = np.asarray(subsample, np.int64)
    log_count = np.log(samples.shape[0])
    entropies = np.empty(samples.shape[1])
    for j in range(samples.shape[1]):
        log_q = log_aggregate_density(samples[subsample, j], params[:, j, 0],
                                      params[:, j, 1], method, rtol)
        entropies[j] = np.mean(log_count - log_q)
    return entropies


def estimate_entropies(samples: np.ndarray, params: np.ndarray,
                       rng: np.random.Generator,
                       rows: Optional[np.ndarray] = None,
                       num_samples: int = 10000, method: str = "fast",
                       rtol: float = 1e-9) -> np.ndarray:
    """``subsample_entropies`` on a random subsample of ``num_samples`` rows."""
    count = samples.shape[0] if rows is None else len(rows)
    return subsample_entropies(samples, params, rows,
                               draw_subsample(count, num_samples, rng),
                               method, rtol)
