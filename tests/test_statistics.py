"""The statistics over seeds (provlae_tf.experiments.statistics) on tiny
inputs whose answers come from hand computation, independent formulas or
exact enumeration, and results.md's "n/a" where a number is undefined."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from provlae_tf.experiments import markdown, statistics


def test_mean_and_sample_std_by_hand():
    s = statistics.summarize([1.0, None, 2.0, float("nan"), 4.0, 5.0])
    # 1, 2, 4, 5: mean 3; squares 4 + 1 + 1 + 4 = 10; 10 / 3 -> std 1.8257
    assert (s.mean, s.n) == (3.0, 4)
    assert s.std == pytest.approx((10 / 3) ** 0.5, rel=1e-12)
    # 0.2, 0.4, 0.6: deviations -0.2, 0, 0.2 -> variance 0.08 / 2 = 0.04
    s = statistics.summarize([0.2, 0.4, 0.6])
    assert s.mean == pytest.approx(0.4, rel=1e-12)
    assert s.std == pytest.approx(0.2, rel=1e-12)
    assert statistics.summarize([None, float("nan")]) is None


def test_one_value_has_no_std_ci_test_or_effect():
    one = statistics.summarize([0.25])
    assert (one.mean, one.n) == (0.25, 1)
    assert math.isnan(one.std) and math.isnan(one.ci_low) \
        and math.isnan(one.ci_high)
    c = statistics.compare([0.25], [0.1, 0.2, 0.3])
    for value in (c.t, c.df, c.p_welch, c.u, c.p_mannwhitney, c.cohens_d,
                  c.rank_biserial):
        assert math.isnan(value)
    # results.md shows them as n/a rather than failing.
    assert markdown.format_ci(one) == "n/a"
    assert markdown.format_summary(one) == "0.250 (n=1)"
    assert markdown.format_number(c.p_welch, ".3g") == "n/a"
    assert markdown.format_number(0.01234, ".3g") == "0.0123"


def test_welch_t_and_p_against_the_welch_satterthwaite_formula():
    a, b = [0.2, 0.4, 0.6], [0.05, 0.15, 0.1, 0.3]
    m1, m2 = np.mean(a), np.mean(b)
    v1, v2 = np.var(a, ddof=1) / 3, np.var(b, ddof=1) / 4
    t = (m1 - m2) / math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1 ** 2 / 2 + v2 ** 2 / 3)
    p = 2 * scipy_stats.t.sf(abs(t), df)
    got_t, got_df, got_p = statistics.welch(a, b)
    assert got_t == pytest.approx(t, rel=1e-10)
    assert got_df == pytest.approx(df, rel=1e-10)
    assert got_p == pytest.approx(p, rel=1e-10)
    # Two-sided: swapping the groups flips t, keeps p.
    assert statistics.welch(b, a)[0] == pytest.approx(-t, rel=1e-10)
    assert statistics.welch(b, a)[2] == pytest.approx(p, rel=1e-10)
    # Two constant groups: no variance, no test.
    assert all(math.isnan(v) for v in statistics.welch([1, 1], [2, 2]))


def _exact_two_sided_p(reference, other):
    """The exact two-sided p of U by enumerating every assignment of the
    pooled ranks to the reference group (no ties in the inputs)."""
    pooled = sorted(reference + other)
    ranks = {v: r for r, v in enumerate(pooled, 1)}
    n1 = len(reference)
    observed = sum(ranks[v] for v in reference) - n1 * (n1 + 1) / 2
    all_u = [sum(c) - n1 * (n1 + 1) / 2
             for c in itertools.combinations(range(1, len(pooled) + 1), n1)]
    below = sum(u <= observed for u in all_u) / len(all_u)
    above = sum(u >= observed for u in all_u) / len(all_u)
    return observed, min(1.0, 2 * min(below, above))


def test_mann_whitney_of_separated_samples_is_the_exact_enumeration():
    reference, other = [3.0, 4.0, 5.0], [0.0, 1.0, 2.0]
    u, p = _exact_two_sided_p(reference, other)
    assert (u, p) == (9.0, 2 / 20)  # one of C(6, 3) = 20, both tails
    assert statistics.mann_whitney(reference, other) == (
        pytest.approx(u), pytest.approx(p, rel=1e-12))
    # Every reference value above every other: r = P(>) - P(<) = 1.
    assert statistics.compare(reference, other).rank_biserial == 1.0
    assert statistics.compare(other, reference).rank_biserial == -1.0
    # 3 against 2 values, one pair out of order: U = 5 of 6 pairs.
    u, p = _exact_two_sided_p([0.2, 0.4, 0.6], [0.05, 0.3])
    assert u == 5.0
    got_u, got_p = statistics.mann_whitney([0.2, 0.4, 0.6], [0.05, 0.3])
    assert (got_u, got_p) == (pytest.approx(u), pytest.approx(p, rel=1e-12))
    assert statistics.rank_biserial(got_u, 3, 2) == pytest.approx(2 * 5 / 6
                                                                  - 1)


def test_cohens_d_with_the_pooled_sample_std():
    # 1, 2, 3 (mean 2, var 1) against 4, 5, 6 (mean 5, var 1): pooled 1.
    assert statistics.cohens_d([1, 2, 3], [4, 5, 6]) == pytest.approx(-3.0)
    # 0, 2 (mean 1, var 2) against 1, 1, 4 (mean 2, var 3):
    # pooled var = (1 * 2 + 2 * 3) / 3 = 8 / 3.
    assert statistics.cohens_d([0, 2], [1, 1, 4]) == pytest.approx(
        -1 / math.sqrt(8 / 3), rel=1e-12)
    assert math.isnan(statistics.cohens_d([1, 1], [1, 1]))


def test_bootstrap_ci_of_a_constant_sample_is_the_constant():
    low, high = statistics.bootstrap_ci([0.7, 0.7, 0.7, 0.7])
    assert low == pytest.approx(0.7, rel=1e-12)
    assert high == pytest.approx(0.7, rel=1e-12)


def test_bootstrap_ci_of_a_two_point_sample():
    """Resampling {a, b}: the mean is a, (a + b) / 2 or b with probability
    1/4, 1/2, 1/4. So the 2.5 % and 97.5 % points are a and b, and the
    30 % and 70 % points (confidence 0.4) are both the midpoint; with
    10,000 resamples a miss has a probability far below 1e-9."""
    s = statistics.summarize([1.0, 3.0])
    assert (s.ci_low, s.ci_high) == (1.0, 3.0)
    assert statistics.bootstrap_ci([1.0, 3.0], confidence=0.4) == (2.0, 2.0)
    # Three values: each extreme mean (all three draws the same value) has
    # probability 1/27 > 2.5 %, so the 95 % interval is [min, max].
    assert statistics.bootstrap_ci([0.5, 0.1, 0.2]) == (
        pytest.approx(0.1, rel=1e-12), pytest.approx(0.5, rel=1e-12))


def test_summary_rows_compare_each_model_with_the_reference():
    rows = [{"dataset": "d", "model": "provlae", "mig": v}
            for v in (0.2, 0.4, 0.6)]
    rows += [{"dataset": "d", "model": "vlae", "mig": v, "kl": 1.0}
             for v in (0.05, 0.15)]
    rows += [{"dataset": "e", "model": "vlae", "mig": 0.5}]
    out = statistics.summary_rows(rows, ["mig", "kl"])
    assert [(r.dataset, r.model, r.metric) for r in out] == [
        ("d", "provlae", "mig"), ("d", "vlae", "mig"), ("d", "vlae", "kl"),
        ("e", "vlae", "mig")]
    assert out[0].comparison is None           # the reference itself
    assert out[3].comparison is None           # no pro-VLAE on dataset e
    # vlae's KL: pro-VLAE has none, so nothing to compare with.
    assert math.isnan(out[2].comparison.p_welch)
    c = out[1].comparison
    # pro-VLAE 0.4 +- 0.2 (n 3), vlae 0.1 +- 0.0707 (n 2):
    # pooled sd = sqrt((2 * 0.04 + 0.005) / 3); d = 0.3 / that.
    assert c.cohens_d == pytest.approx(0.3 / math.sqrt(0.085 / 3))
    assert c.rank_biserial == 1.0
    assert c.p_mannwhitney == pytest.approx(2 / 10)  # 1 of C(5, 2), x2
