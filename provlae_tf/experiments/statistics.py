"""Statistics over seeds: summaries with bootstrap confidence intervals, and
two-sided tests of each model against pro-VLAE with their effect sizes.

Pure functions of numbers (NumPy and SciPy; no TensorFlow, no files), so
that every table and figure of a grid comes from the same computation. The
methods, as results.md states them:

- mean and sample standard deviation (ddof = 1) over the seeds that have
  the number (None and NaN are left out; n counts the rest);
- a 95 % confidence interval of the mean by percentile bootstrap over seeds:
  :data:`RESAMPLES` resamples of the n values with replacement, drawn from
  a generator seeded with :data:`BOOTSTRAP_SEED`, the 2.5th and 97.5th
  percentiles of their means (with few seeds it covers less than 95 %: it
  cannot be wider than the values' range);
- Welch's t-test (``scipy.stats.ttest_ind(equal_var=False)``) and the
  Mann-Whitney U test (``scipy.stats.mannwhitneyu(alternative=
  "two-sided")``, SciPy's default method: the exact distribution of U when a
  sample has at most 8 values and there are no ties, else the normal
  approximation with the tie correction), both two-sided, without a
  correction for multiple comparisons;
- Cohen's d = (mean of the reference - mean of the other) / the pooled
  sample std, sqrt(((n1 - 1) s1^2 + (n2 - 1) s2^2) / (n1 + n2 - 2));
- the rank-biserial correlation r = 2 U / (n1 n2) - 1, U counting the pairs
  (reference, other) where the reference is larger (ties 1/2): r =
  P(reference > other) - P(reference < other).

Effects are signed reference minus other: positive when pro-VLAE scores
higher. With fewer than 2 values in a group its std, CI, tests and effect
sizes are NaN (the tables show "n/a"), as are tests and effects that are
undefined (two constant groups: no variance to compare against).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np
from scipy import stats

RESAMPLES = 10_000
CONFIDENCE = 0.95
BOOTSTRAP_SEED = 0
NAN = math.nan


@dataclasses.dataclass(frozen=True)
class Summary:
    """Mean, sample std (ddof = 1), n and the bootstrap CI of the mean (NaN
    where n < 2)."""

    mean: float
    std: float
    n: int
    ci_low: float = NAN
    ci_high: float = NAN


@dataclasses.dataclass(frozen=True)
class Comparison:
    """A model against the reference (pro-VLAE); NaN where undefined."""

    t: float
    df: float
    p_welch: float
    u: float
    p_mannwhitney: float
    cohens_d: float
    rank_biserial: float


@dataclasses.dataclass(frozen=True)
class SummaryRow:
    """One (dataset, model, metric): its summary, and for a model other
    than the reference its comparison with the reference (else None)."""

    dataset: str
    model: str
    metric: str
    summary: Summary
    comparison: Optional[Comparison]


def finite(values: Iterable) -> np.ndarray:
    """The numbers among ``values`` as float64 (None and NaN left out)."""
    return np.array([v for v in values if v is not None
                     and not (isinstance(v, float) and math.isnan(v))],
                    dtype=np.float64)


def summarize(values: Iterable, *, confidence: float = CONFIDENCE,
              resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED
              ) -> Optional[Summary]:
    """The :class:`Summary` of the numbers among ``values``; None if none."""
    x = finite(values)
    if not x.size:
        return None
    if x.size < 2:
        return Summary(float(x[0]), NAN, 1)
    low, high = bootstrap_ci(x, confidence=confidence, resamples=resamples,
                             seed=seed)
    return Summary(float(np.mean(x)), float(np.std(x, ddof=1)), int(x.size),
                   low, high)


def bootstrap_ci(values: Sequence[float], *, confidence: float = CONFIDENCE,
                 resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED
                 ) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean; (NaN, NaN) for n < 2.

    Args:
        values: the numbers (one per seed).
        confidence: the interval's nominal coverage, e.g. 0.95.
        resamples: bootstrap resamples.
        seed: seeds the resampling (the same values give the same bounds).
    """
    x = finite(values)
    if x.size < 2:
        return NAN, NAN
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def welch(reference: Sequence[float], other: Sequence[float]
          ) -> tuple[float, float, float]:
    """Welch's two-sided t-test: ``(t, df, p)``, NaN when undefined."""
    a, b = finite(reference), finite(other)
    if a.size < 2 or b.size < 2 or (np.ptp(a) == 0 and np.ptp(b) == 0):
        return NAN, NAN, NAN
    with warnings.catch_warnings():
        # SciPy warns of precision loss on nearly equal values; the test
        # is still what it computes, and the table shows it.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(a, b, equal_var=False)
    return float(result.statistic), float(result.df), float(result.pvalue)


def mann_whitney(reference: Sequence[float], other: Sequence[float]
                 ) -> tuple[float, float]:
    """The two-sided Mann-Whitney U test: ``(U of reference, p)``; NaN
    with fewer than 2 values in a group."""
    a, b = finite(reference), finite(other)
    if a.size < 2 or b.size < 2:
        return NAN, NAN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.mannwhitneyu(a, b, alternative="two-sided")
    return float(result.statistic), float(result.pvalue)


def cohens_d(reference: Sequence[float], other: Sequence[float]) -> float:
    """(mean reference - mean other) / pooled sample std; NaN when either
    group has fewer than 2 values or the pooled std is 0."""
    a, b = finite(reference), finite(other)
    if a.size < 2 or b.size < 2:
        return NAN
    pooled = math.sqrt(((a.size - 1) * np.var(a, ddof=1)
                        + (b.size - 1) * np.var(b, ddof=1))
                       / (a.size + b.size - 2))
    return float((np.mean(a) - np.mean(b)) / pooled) if pooled > 0 else NAN


def rank_biserial(u: float, n_reference: int, n_other: int) -> float:
    """2 U / (n1 n2) - 1 for the reference's U; NaN without pairs."""
    if not n_reference or not n_other or math.isnan(u):
        return NAN
    return 2.0 * u / (n_reference * n_other) - 1.0


def compare(reference: Sequence[float], other: Sequence[float]
            ) -> Comparison:
    """Every test and effect size of ``other`` against ``reference``."""
    a, b = finite(reference), finite(other)
    t, df, p_welch = welch(a, b)
    u, p_mw = mann_whitney(a, b)
    return Comparison(t, df, p_welch, u, p_mw, cohens_d(a, b),
                      rank_biserial(u, a.size, b.size))


def summary_rows(rows: Sequence[Mapping], metrics: Sequence[str],
                 reference: str = "provlae") -> list[SummaryRow]:
    """One :class:`SummaryRow` per (dataset, model, metric) with a number.

    Args:
        rows: one mapping per run, with ``dataset``, ``model`` and the
            metrics (None or absent where a run has no such number).
        metrics: the metrics to summarise, in order.
        reference: the model the others are compared with, per dataset
            (when it is among the rows).

    Returns:
        Datasets and models in their order of first appearance, the
        metrics in the given order.
    """
    groups: dict[tuple[str, str], list[Mapping]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["model"]), []).append(row)
    result = []
    for (dataset, model), group in groups.items():
        anchor = groups.get((dataset, reference))
        for metric in metrics:
            values = [row.get(metric) for row in group]
            summary = summarize(values)
            if summary is None:
                continue
            comparison = None
            if model != reference and anchor is not None:
                comparison = compare([row.get(metric) for row in anchor],
                                     values)
            result.append(SummaryRow(dataset, model, metric, summary,
                                     comparison))
    return result
