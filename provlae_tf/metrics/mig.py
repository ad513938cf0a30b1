"""MIG (Chen et al. 2018) and MIG-sup (pro-VLAE) from estimated entropies.

The original pro-VLAE evaluation, step by step:

1. marginal entropies ``H(z_j)`` over all rows (``entropy.py``);
2. for each factor ``k`` and each of its values ``v``, ``H(z_j | v_k = v)``
   over the rows with that value, each value slice with its own subsample;
   ``H(z_j | v_k)`` is their mean over the values;
3. ``MI[k, j] = (H(z_j) - H(z_j | v_k)) / log(number of values of k)``;
4. negative normalised MIs are clamped to 0, then
   MIG = mean over factors of (largest - second largest MI over latents),
   MIG-sup = mean over active latents of (largest - second largest MI over
   factors). Active: variance over the rows of the posterior means > 1e-2.

On a random subset of the grid (``--eval_images``) the same steps run on
the subset's rows; a value with no row there is left out of step 2 and of
the ``log`` of step 3 (``skip_missing_values``).

Reference: docs/original.md#mig-estimator
Reference: docs/original.md#mig-clamping
The clamping applies to the MI values before the gaps are taken (a recorded
run of the original gives its MIG-sup only that way).

Reference: docs/original.md#active-units
The variance is the unbiased one (``ddof=1``, torch's default).
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np

from provlae_tf.metrics.entropy import draw_subsample, subsample_entropies

# Reference: docs/original.md#active-units
ACTIVE_VARIANCE = 1e-2


@dataclasses.dataclass(frozen=True)
class MigResult:
    """Everything the estimator computed.

    Attributes:
        mig: MIG, in [0, 1] up to estimation noise.
        mig_sup: MIG-sup over the active latents (0.0 when none is active).
        mi_normed: ``(F, K)`` normalised MI, before clamping.
        marginal_entropies: ``(K,)`` ``H(z_j)``.
        conditional_entropies: ``(F, K)`` ``H(z_j | v_k)``.
        active_units: indices of the active latents.
        mean_variance: ``(K,)`` variance of the posterior means.
        factor_indices: the factor columns used, in the rows' order.
        call_entropies: ``(calls, K)`` every estimate, in call order (all
            rows, then each chosen factor's values ascending).
        num_values: per chosen factor, the values scored (the ``|v_k|`` of
            the normalisation): its size on a whole grid, the values that
            have rows with ``skip_missing_values``.
    """
    mig: float
    mig_sup: float
    mi_normed: np.ndarray
    marginal_entropies: np.ndarray
    conditional_entropies: np.ndarray
    active_units: np.ndarray
    mean_variance: np.ndarray
    factor_indices: tuple
    call_entropies: np.ndarray
    num_values: tuple = ()


# Reference: docs/original.md#active-units
def active_units(means: np.ndarray,
                 threshold: float = ACTIVE_VARIANCE) -> tuple:
    """``(indices, variances)``: latents whose mean varies more than threshold."""
    variance = np.var(np.asarray(means, np.float64), axis=0, ddof=1)
    return np.flatnonzero(variance > threshold), variance


def factor_value_rows(factors: np.ndarray, factor_sizes: Sequence[int],
                      factor_indices: Sequence[int],
                      skip_missing: bool = False) -> list:
    """Rows of each value of each chosen factor, in the estimator's call order.

    Args:
        factors: ``(N, F)`` integer factor classes of the rows.
        factor_sizes: number of values of each factor.
        factor_indices: the chosen factors.
        skip_missing: leave out the values that have no row (a subset of the
            grid) instead of refusing them.

    Returns:
        A list, per chosen factor, of ascending row-index arrays, one per
        value in ascending order (value 0 first): ``factor_sizes[k]`` of them,
        or with ``skip_missing`` one per value that has rows.

    Raises:
        ValueError: a value has no row and not ``skip_missing`` (the
            original's metric needs the whole grid), or a class is out of
            range.
    """
    factors = np.asarray(factors)
    per_factor = []
    for k in factor_indices:
        order = np.argsort(factors[:, k], kind="stable")
        counts = np.bincount(factors[:, k], minlength=factor_sizes[k])
        if counts.size != factor_sizes[k] or not (skip_missing
                                                  or counts.all()):
            raise ValueError(f"factor {k}: every one of its {factor_sizes[k]} "
                             f"values needs rows, counts are {counts}")
        rows = np.split(order, np.cumsum(counts)[:-1])
        per_factor.append([r for r in rows if r.size] if skip_missing
                          else rows)
    return per_factor


def normalised_mutual_information(marginal: np.ndarray,
                                  conditional: np.ndarray,
                                  num_values: Sequence[int]) -> np.ndarray:
    """``(H(z_j) - H(z_j | v_k)) / log |v_k|`` as an ``(F, K)`` array."""
    mi = np.asarray(marginal)[None, :] - np.asarray(conditional)
    return mi / np.log(np.asarray(num_values, np.float64))[:, None]


def top_two_gap(values: np.ndarray, axis: int) -> np.ndarray:
    """Largest minus second largest along ``axis``.

    With a single entry the entry itself: a missing second counts as 0, which
    fits the non-negative (clamped) MIs this is used on.
    """
    if values.shape[axis] == 1:
        return np.take(values, 0, axis)
    top = -np.partition(-values, 1, axis=axis)
    return np.take(top, 0, axis) - np.take(top, 1, axis)


# Reference: docs/original.md#mig-clamping
# Reference: docs/original.md#mig-sup-no-active
def gap_scores(mi_normed: np.ndarray, active: np.ndarray) -> tuple:
    """``(MIG, MIG-sup)`` from the normalised MI ``(F, K)``, clamped at 0."""
    clamped = np.maximum(mi_normed, 0.0)
    mig = float(np.mean(top_two_gap(clamped, axis=1)))
    active = np.asarray(active, np.int64)
    mig_sup = (float(np.mean(top_two_gap(clamped[:, active], axis=0)))
               if active.size else 0.0)
    return mig, mig_sup


# Reference: docs/original.md#mig-estimator
def estimate_mig(samples: np.ndarray, params: np.ndarray,
                 factors: np.ndarray, factor_sizes: Sequence[int], *,
                 factor_indices: Optional[Sequence[int]] = None,
                 rng: Optional[np.random.Generator] = None,
                 num_samples: int = 10000,
                 subsamples: Optional[Sequence[np.ndarray]] = None,
                 method: str = "fast", rtol: float = 1e-9,
                 skip_missing_values: bool = False) -> MigResult:
    """MIG and MIG-sup of a code over a whole factor grid (or a subset).

    Args:
        samples: ``(N, K)`` one posterior sample per row.
        params: ``(N, K, 2)`` posterior mean and log standard deviation.
        factors: ``(N, F)`` integer factor classes of the rows.
        factor_sizes: number of values of each of the ``F`` factors.
        factor_indices: factors to score (default all); dSprites leaves out
            shape: ``(1, 2, 3, 4)``.
        rng: draws each call's subsample (required unless ``subsamples``).
        num_samples: subsample size ``S`` per call (``min(S, rows)`` used).
        subsamples: instead of ``rng``, the subsample positions of every call
            in order: all rows first, then each chosen factor's values
            ascending (to replay a recorded run).
        method: density evaluator, ``"fast"`` or ``"brute"``.
        rtol: relative error allowed per density for ``"fast"``.
        skip_missing_values: the rows are a subset of the grid (e.g.
            ``--eval_images``), where a value may have no row: such a value
            is left out, i.e. the estimator runs on the values present.
            ``H(z_j | v_k)`` is the mean over the present values (unweighted,
            as over the whole grid) and the MI is normalised by the log of
            their number (the entropy of a uniform factor over them). With
            every value present this is the whole-grid estimator.

    Returns:
        A ``MigResult``.

    Raises:
        ValueError: a chosen factor has fewer than 2 values (with
            ``skip_missing_values``: fewer than 2 values present), or a value
            has no row without ``skip_missing_values``.
    """
    factor_indices = tuple(range(len(factor_sizes)) if factor_indices is None
                           else factor_indices)
    sizes = [factor_sizes[k] for k in factor_indices]
    if min(sizes) < 2:
        raise ValueError(f"factors {factor_indices} have sizes {sizes}: the "
                         "MI is normalised by log(size), so each needs >= 2")
    slices = factor_value_rows(factors, factor_sizes, factor_indices,
                               skip_missing=skip_missing_values)
    if skip_missing_values:
        sizes = [len(per_value) for per_value in slices]
        if min(sizes) < 2:
            raise ValueError(
                f"factors {factor_indices} have {sizes} values with rows: the "
                "MI is normalised by log(values), so each needs >= 2")
    calls = [None] + [rows for per_value in slices for rows in per_value]
    if subsamples is None:
        if rng is None:
            raise ValueError("give rng or subsamples")
        subsamples = [draw_subsample(
            samples.shape[0] if rows is None else rows.size, num_samples, rng)
            for rows in calls]
    elif len(subsamples) != len(calls):
        raise ValueError(
            f"{len(calls)} calls but {len(subsamples)} subsamples")
    entropies = np.stack([subsample_entropies(samples, params, rows, sub,
                                              method, rtol)
                          for rows, sub in zip(calls, subsamples)])
    marginal = entropies[0]
    conditional = np.stack([part.mean(axis=0) for part in np.split(
        entropies[1:], np.cumsum(sizes)[:-1])])
    mi_normed = normalised_mutual_information(marginal, conditional, sizes)
    active, variance = active_units(np.asarray(params)[..., 0])
    mig, mig_sup = gap_scores(mi_normed, active)
    return MigResult(mig, mig_sup, mi_normed, marginal, conditional, active,
                     variance, factor_indices, entropies, tuple(sizes))
