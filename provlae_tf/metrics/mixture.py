"""Log-densities of 1-D Gaussian mixtures, evaluated by brute force.

The entropy estimators (``entropy.py``, ``information.py``) need
``log sum_n N(z_s; mu_n, sigma_n)`` for many query points ``z_s``: the
aggregate posterior, unnormalised (the caller subtracts ``log N``). This module
is the exact reference; ``fast_mixture.py`` is the one to use at full size.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

LOG_2PI = float(np.log(2.0 * np.pi))

# Elements of one (queries x components) block: 2**22 float64 = 32 MiB.
_BLOCK_ELEMENTS = 1 << 22


def log_normal(x: np.ndarray, mean: np.ndarray,
               log_sigma: np.ndarray) -> np.ndarray:
    """Elementwise ``log N(x; mean, exp(log_sigma)**2)`` (broadcasting)."""
    scaled = (x - mean) * np.exp(-log_sigma)
    return -0.5 * (scaled * scaled + LOG_2PI) - log_sigma


def log_mixture_brute(queries: np.ndarray, means: np.ndarray,
                      log_sigmas: np.ndarray,
                      block_elements: int = _BLOCK_ELEMENTS) -> np.ndarray:
    """``log sum_n N(q_s; mu_n, sigma_n)`` for each query, exactly.

    Costs ``S * n`` log-densities, computed in float64 in blocks of queries so
    that memory stays near ``block_elements`` doubles.

    Args:
        queries: ``(S,)`` points.
        means: ``(n,)`` component means.
        log_sigmas: ``(n,)`` component log standard deviations.
        block_elements: queries x components evaluated at once.

    Returns:
        ``(S,)`` float64 log mixture densities (an unweighted sum: subtract
        ``log n`` for the mixture with equal weights).
    """
    queries = np.asarray(queries, np.float64).reshape(-1)
    means = np.asarray(means, np.float64).reshape(-1)
    log_sigmas = np.asarray(log_sigmas, np.float64).reshape(-1)
    out = np.empty(queries.shape[0])
    step = max(1, block_elements // max(1, means.shape[0]))
    for start in range(0, queries.shape[0], step):
        block = queries[start:start + step, None]
        out[start:start + step] = logsumexp(
            log_normal(block, means, log_sigmas), axis=1)
    return out


def log_joint_mixture_brute(queries: np.ndarray, means: np.ndarray,
                            log_sigmas: np.ndarray,
                            block_elements: int = _BLOCK_ELEMENTS
                            ) -> np.ndarray:
    """``log sum_n prod_d N(q_sd; mu_nd, sigma_nd)``: diagonal Gaussians in D-d.

    Args:
        queries: ``(S, D)`` points.
        means: ``(n, D)`` component means.
        log_sigmas: ``(n, D)`` component log standard deviations.
        block_elements: queries x components x dims evaluated at once.

    Returns:
        ``(S,)`` float64 unweighted log mixture densities.
    """
    queries = np.asarray(queries, np.float64)
    means = np.asarray(means, np.float64)
    log_sigmas = np.asarray(log_sigmas, np.float64)
    n, dims = means.shape
    out = np.empty(queries.shape[0])
    step = max(1, block_elements // max(1, n * dims))
    for start in range(0, queries.shape[0], step):
        block = queries[start:start + step, None, :]
        log_densities = log_normal(block, means, log_sigmas).sum(axis=2)
        out[start:start + step] = logsumexp(log_densities, axis=1)
    return out
