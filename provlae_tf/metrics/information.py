"""I(x; z_l): how much each ladder's code says about the input.

``I(x; z) = E_x KL(q(z | x) || q(z)) = H(z) - E_x H(z | x)``, with ``q(z)``
the aggregate posterior ``1/N sum_n q(z | x_n)`` over the N rows:

- ``H(z | x_n)`` is analytic for a diagonal Gaussian, ``sum_d (log(2 pi e) / 2
  + log sigma_nd)``, averaged over all rows;
- ``H(z)`` is Chen et al.'s estimate (as in ``entropy.py``) on the JOINT of the
  ladder's dimensions: ``mean_s [log N - logsumexp_n sum_d log N(z_sd; mu_nd,
  sigma_nd)]`` over a subsample ``s`` of the rows' posterior samples.

Since each query's own component is part of its sum, the estimate stays below
``log N`` up to sampling noise: a code that tells every row apart reaches it.
Cost: ``num_samples * N`` joint log-densities per ladder (as one matrix
product per block, ``mixture.log_joint_mixture``; a one-dimensional ladder
uses the fast evaluator).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from provlae_tf.metrics.entropy import draw_subsample
from provlae_tf.metrics.fast_mixture import log_mixture_fast
from provlae_tf.metrics.ladders import select_ladder
from provlae_tf.metrics.mixture import LOG_2PI, log_joint_mixture


def gaussian_conditional_entropy(log_sigmas: np.ndarray) -> float:
    """Mean over rows of the entropy of ``N(mu_n, diag(sigma_n^2))`` (nats)."""
    log_sigmas = np.asarray(log_sigmas, np.float64)
    per_row = 0.5 * (LOG_2PI + 1.0) * log_sigmas.shape[1] + log_sigmas.sum(1)
    return float(per_row.mean())


def aggregate_entropy(samples: np.ndarray, means: np.ndarray,
                      log_sigmas: np.ndarray, subsample: np.ndarray) -> float:
    """Joint entropy of the aggregate posterior from the subsampled samples.

    Args:
        samples: ``(N, D)`` one posterior sample per row.
        means: ``(N, D)`` posterior means.
        log_sigmas: ``(N, D)`` posterior log standard deviations.
        subsample: rows whose samples are the query points.
    """
    queries = np.asarray(samples, np.float64)[subsample]
    if queries.shape[1] == 1:
        log_q = log_mixture_fast(queries[:, 0], means[:, 0], log_sigmas[:, 0])
    else:
        log_q = log_joint_mixture(queries, means, log_sigmas)
    return float(np.mean(np.log(len(means)) - log_q))


def mutual_information(samples: np.ndarray, means: np.ndarray,
                       log_sigmas: np.ndarray,
                       rng: Optional[np.random.Generator] = None,
                       num_samples: int = 1000,
                       subsample: Optional[np.ndarray] = None) -> float:
    """``I(x; z)`` in nats for a block of latents (see the module docstring).

    Args:
        samples, means, log_sigmas: ``(N, D)`` per-row posterior sample and
            parameters of the block.
        rng: draws the subsample (unless ``subsample`` is given).
        num_samples: subsample size for ``H(z)``.
        subsample: the query rows, instead of ``rng``.
    """
    if subsample is None:
        subsample = draw_subsample(len(samples), num_samples, rng)
    return (aggregate_entropy(samples, means, log_sigmas, subsample)
            - gaussian_conditional_entropy(log_sigmas))


def information_per_ladder(samples: np.ndarray, params: np.ndarray,
                           z_dim: int, num_ladders: int,
                           rng: np.random.Generator,
                           num_samples: int = 1000) -> np.ndarray:
    """``(L,)`` ``I(x; z_l)`` in nats for ladders 1 (bottom) .. L (top).

    Every ladder is estimated on the same subsample of rows.

    Args:
        samples: ``(N, L * z_dim)`` one posterior sample per row.
        params: ``(N, L * z_dim, 2)`` posterior mean and log sigma.
        z_dim: latents per ladder.
        num_ladders: L.
        rng: draws the subsample.
        num_samples: subsample size.
    """
    params = np.asarray(params)
    subsample = draw_subsample(len(samples), num_samples, rng)
    return np.array([
        mutual_information(
            select_ladder(samples, ladder, z_dim, num_ladders),
            select_ladder(params[..., 0], ladder, z_dim, num_ladders),
            select_ladder(params[..., 1], ladder, z_dim, num_ladders),
            subsample=subsample)
        for ladder in range(1, num_ladders + 1)])
