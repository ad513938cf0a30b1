"""The factor metric of Kim & Mnih (2018), with disentanglement_lib's settings.

1. Global variances: represent ``num_variance_estimate`` random observations;
   variance of each latent (``ddof=1``). Latents whose global standard
   deviation is below ``prune_std`` are left out.
2. A vote: choose a factor ``k`` uniformly, draw ``batch_size`` factor
   combinations that share one random value of ``k``, represent their
   observations, divide each latent's variance in the batch by its global
   variance (i.e. normalise by the global std), and vote ``(argmin latent, k)``.
3. A majority-vote classifier from ``num_train`` votes: each latent predicts
   the factor it voted for most often (ties: the lower factor index; a latent
   with no training vote predicts factor 0). Its accuracy on ``num_eval`` new
   votes is the metric.

When every latent is pruned the metric is 0.0 (disentanglement_lib's
convention: no latent carries information).

A ground truth that cannot produce every factor combination (a random
subset of the grid, ``--eval_images``) draws each vote's batch itself: it
provides ``sample_fixed_factor_batches(fixed, batch_size, rng)`` (see
:class:`GroundTruth`), which step 2 then uses instead of fixing factor ``k``
in freshly drawn combinations.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Protocol, Sequence

import numpy as np

# Observations represented per call of ``represent``.
REPRESENT_BATCH = 1024


class GroundTruth(Protocol):
    """What the metrics need of a dataset with known factors.

    Optionally also ``sample_fixed_factor_batches(fixed, batch_size, rng)``:
    the observations ``(len(fixed) * batch_size, ...)`` of ``len(fixed)``
    vote batches, batch ``i`` sharing one value of factor ``fixed[i]`` (the
    value and the other factors drawn by the ground truth). The factor
    metric uses it when present; without it a vote fixes the factor in
    ``sample_factors``' combinations.
    """

    factor_sizes: Sequence[int]

    def sample_factors(self, num: int,
                       rng: np.random.Generator) -> np.ndarray:
        ...

    def sample_observations_from_factors(
            self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        ...


@dataclasses.dataclass(frozen=True)
class FactorVaeResult:
    """Attributes:
        eval_accuracy: the metric.
        train_accuracy: the classifier's accuracy on its own votes.
        num_active_dims: latents kept after pruning.
        train_votes: ``(F, K)`` training vote counts (factor, latent).
    """
    eval_accuracy: float
    train_accuracy: float
    num_active_dims: int
    train_votes: np.ndarray


def represent_in_batches(represent: Callable[[np.ndarray], np.ndarray],
                         observations: np.ndarray,
                         batch: int = REPRESENT_BATCH) -> np.ndarray:
    """``represent`` applied to ``observations`` ``batch`` at a time."""
    return np.concatenate([
        np.asarray(represent(observations[start:start + batch]), np.float64)
        for start in range(0, len(observations), batch)])


def _votes(ground_truth: GroundTruth, represent, rng, num_votes: int,
           batch_size: int, active: np.ndarray,
           global_variance: np.ndarray) -> np.ndarray:
    """``(F, K)`` vote counts of ``num_votes`` fixed-factor batches."""
    num_factors = len(ground_truth.factor_sizes)
    votes = np.zeros((num_factors, global_variance.size), np.int64)
    # Several votes' observations go through ``represent`` together.
    per_call = max(1, REPRESENT_BATCH // batch_size)
    # A subset of the grid lacks most combinations that fixing a factor would
    # make: it draws the batches itself (the whole grid never has this).
    draw_batches = getattr(ground_truth, "sample_fixed_factor_batches", None)
    for start in range(0, num_votes, per_call):
        count = min(per_call, num_votes - start)
        fixed = rng.integers(num_factors, size=count)
        if draw_batches is not None:
            observations = draw_batches(fixed, batch_size, rng)
        else:
            factors = ground_truth.sample_factors(count * batch_size, rng)
            factors = factors.reshape(count, batch_size, num_factors)
            votes_range = np.arange(count)
            shared = factors[votes_range, 0, fixed]
            factors[votes_range, :, fixed] = shared[:, None]
            observations = ground_truth.sample_observations_from_factors(
                factors.reshape(count * batch_size, num_factors), rng)
        codes = np.asarray(represent(observations), np.float64)
        codes = codes.reshape(count, batch_size, -1)[:, :, active]
        local = np.var(codes, axis=1, ddof=1) / global_variance[active]
        np.add.at(votes, (fixed, active[np.argmin(local, axis=1)]), 1)
    return votes


def _accuracy(votes: np.ndarray, classifier: np.ndarray) -> float:
    total = votes.sum()
    correct = votes[classifier, np.arange(votes.shape[1])].sum()
    return float(correct / total) if total else 0.0


def factor_vae_score(ground_truth: GroundTruth,
                     represent: Callable[[np.ndarray], np.ndarray],
                     rng: np.random.Generator, *, batch_size: int = 64,
                     num_train: int = 10000, num_eval: int = 5000,
                     num_variance_estimate: int = 10000,
                     prune_std: float = 0.05) -> FactorVaeResult:
    """Factor metric of a representation.

    Args:
        ground_truth: factor sizes and sampling (see ``GroundTruth``).
        represent: observations ``(n, ...)`` -> posterior means ``(n, K)``.
        rng: the only source of randomness.
        batch_size: observations per vote.
        num_train: votes to build the classifier.
        num_eval: votes to score it.
        num_variance_estimate: observations for the global variances.
        prune_std: latents with a smaller global std are left out.

    Returns:
        A ``FactorVaeResult``; ``eval_accuracy`` is the metric.
    """
    factors = ground_truth.sample_factors(num_variance_estimate, rng)
    observations = ground_truth.sample_observations_from_factors(factors, rng)
    global_variance = np.var(represent_in_batches(represent, observations),
                             axis=0, ddof=1)
    active = np.flatnonzero(np.sqrt(global_variance) >= prune_std)
    if active.size == 0:
        empty = np.zeros((len(ground_truth.factor_sizes),
                          global_variance.size), np.int64)
        return FactorVaeResult(0.0, 0.0, 0, empty)
    train = _votes(ground_truth, represent, rng, num_train, batch_size, active,
                   global_variance)
    classifier = np.argmax(train, axis=0)
    evaluation = _votes(ground_truth, represent, rng, num_eval, batch_size,
                        active, global_variance)
    return FactorVaeResult(_accuracy(evaluation, classifier),
                           _accuracy(train, classifier), int(active.size),
                           train)
