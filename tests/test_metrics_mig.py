"""MIG / MIG-sup: the original estimator replayed, the fast evaluator, known codes."""

import json

import numpy as np
import pytest

from provlae_tf.metrics.entropy import (params_from_mean_logvar,
                                        subsample_entropies)
from provlae_tf.metrics.fast_mixture import log_mixture_fast
from provlae_tf.metrics.mig import (estimate_mig, factor_value_rows,
                                    gap_scores)
from provlae_tf.metrics.mixture import log_mixture_brute, log_normal
from provlae_tf.data import dsprites
from provlae_tf.factor_grid import all_classes
from provlae_tf.metrics.synthetic import gaussian_code
from tests.shared_fixtures import fixture_path

# The code's dSprites grid without the one-valued colour, as the original's.
DSPRITES_GRID = dsprites.FACTOR_SIZES[1:]
DSPRITES_FACTORS = (1, 2, 3, 4)  # shape left out, as the original


# --- the original estimator on the recorded fixture -------------------------

@pytest.fixture(scope="module")
def recorded():
    folder = fixture_path("mig_dsprites")
    qz = np.load(folder / "qz.npz")
    perms = np.load(folder / "perms.npz")
    reference = json.loads((folder / "reference.json").read_text())
    calls = len(perms["call_N"])
    return dict(samples=qz["qz_samples"], params=qz["qz_params"],
                subsamples=[perms[f"call{i:03d}"] for i in range(calls)],
                call_n=perms["call_N"], call_entropies=perms["call_entropies"],
                reference=reference)


def test_fixture_replay_reproduces_every_call_and_the_scores(recorded):
    ref = recorded["reference"]
    # The original recorded its run on the grid the code's dSprites has.
    assert tuple(ref["grid"]) == DSPRITES_GRID
    assert ref["N"] == dsprites.NUM_IMAGES
    result = estimate_mig(recorded["samples"], recorded["params"],
                          all_classes(DSPRITES_GRID), DSPRITES_GRID,
                          factor_indices=DSPRITES_FACTORS,
                          subsamples=recorded["subsamples"])
    np.testing.assert_allclose(result.call_entropies,
                               recorded["call_entropies"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(result.marginal_entropies,
                               ref["marginal_entropies"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(result.conditional_entropies,
                               ref["cond_entropies"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(result.mi_normed, ref["mi_normed"], rtol=0,
                               atol=1e-5)
    assert result.mig == pytest.approx(ref["MIG"], abs=1e-5)
    assert result.mig_sup == pytest.approx(ref["MIG_sup"], abs=1e-5)
    assert result.active_units.tolist() == ref["active_units"]
    np.testing.assert_allclose(result.mean_variance, ref["mean_variance"],
                               rtol=1e-5)


def test_fixture_call_order_and_sizes(recorded):
    slices = factor_value_rows(all_classes(DSPRITES_GRID), DSPRITES_GRID,
                               DSPRITES_FACTORS)
    sizes = [len(rows) for per_value in slices for rows in per_value]
    assert [len(recorded["samples"])] + sizes == recorded["call_n"].tolist()


def test_fixture_brute_force_call(recorded):
    """One orientation slice by brute force: the formula, not only the fast path."""
    rows = factor_value_rows(all_classes(DSPRITES_GRID), DSPRITES_GRID,
                             (2,))[0][0]
    entropies = subsample_entropies(recorded["samples"], recorded["params"],
                                    rows, recorded["subsamples"][7], "brute")
    np.testing.assert_allclose(entropies, recorded["call_entropies"][7],
                               rtol=0, atol=1e-5)


def test_clamping_applies_to_the_mi_before_the_gaps(recorded):
    ref = recorded["reference"]
    mig, mig_sup = gap_scores(np.array(ref["mi_normed"]), ref["active_units"])
    assert mig == pytest.approx(ref["MIG"], abs=1e-6)
    assert mig_sup == pytest.approx(ref["MIG_sup"], abs=1e-6)


# --- the fast evaluator against brute force ---------------------------------

def _mixture_problem(rng, n, num_queries):
    """Clusters, spread means, sigma from 1e-3 to 3 and inactive-like rows."""
    means = np.concatenate([rng.integers(0, 5, n // 2) * 0.2
                            + rng.normal(0, 0.01, n // 2),
                            rng.normal(0, 1, n - n // 2)])
    log_sigmas = np.log(10 ** rng.uniform(-3, 0.5, n))
    inactive = rng.random(n) < 0.2
    means[inactive] = rng.normal(0, 0.05, inactive.sum())
    log_sigmas[inactive] = rng.normal(0, 0.02, inactive.sum())
    rows = rng.integers(0, n, num_queries)
    queries = means[rows] + np.exp(log_sigmas[rows]) * rng.normal(
        size=num_queries)
    return queries, means, log_sigmas


@pytest.mark.parametrize("seed", range(4))
def test_fast_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    queries, means, log_sigmas = _mixture_problem(
        rng, int(rng.integers(100, 6000)), int(rng.integers(10, 800)))
    np.testing.assert_allclose(log_mixture_fast(queries, means, log_sigmas),
                               log_mixture_brute(queries, means, log_sigmas),
                               rtol=0, atol=1e-6)


def test_fast_equal_sigma_clusters_and_far_queries():
    rng = np.random.default_rng(5)
    means = np.repeat(np.arange(6) * 0.2, 1000) + rng.normal(0, 0.01, 6000)
    log_sigmas = np.full(6000, np.log(0.05))
    queries = np.concatenate([means[:300] + 0.05 * rng.normal(size=300),
                              [1.6, -3.0, 40.0, 1e4]])
    fast, fallbacks = log_mixture_fast(queries, means, log_sigmas,
                                       return_fallbacks=True)
    np.testing.assert_allclose(
        fast, log_mixture_brute(queries, means, log_sigmas), rtol=0, atol=1e-6)
    assert 1 <= fallbacks <= 10  # the underflowing query, at least


def test_brute_force_is_the_logsumexp_of_log_densities():
    means, log_sigmas = np.array([0.0, 1.0, 3.0]), np.log([0.5, 1.0, 2.0])
    queries = np.array([-1.0, 0.5, 10.0])
    expected = [np.log(np.sum(np.exp(log_normal(q, means, log_sigmas))))
                for q in queries]
    np.testing.assert_allclose(log_mixture_brute(queries, means, log_sigmas),
                               expected, rtol=1e-12)


def test_single_component_and_empty_queries():
    value = log_mixture_fast(np.array([0.3]), np.array([0.0]),
                             np.array([np.log(0.2)]))
    assert value[0] == pytest.approx(log_normal(0.3, 0.0, np.log(0.2)))
    assert log_mixture_fast(np.zeros(0), np.zeros(3), np.zeros(3)).shape == (0,)


# --- codes whose answer is known --------------------------------------------

GRID = (4, 5, 3)


def _scores(means, sigma=0.01, seed=0, factor_sizes=GRID, **kwargs):
    factors = all_classes(factor_sizes)
    samples, params = gaussian_code(means, sigma, np.random.default_rng(seed))
    return estimate_mig(samples, params, factors, factor_sizes,
                        rng=np.random.default_rng(seed + 1), **kwargs)


def test_identity_code_scores_one():
    result = _scores(all_classes(GRID).astype(float))
    assert result.mig == pytest.approx(1.0, abs=1e-6)
    assert result.mig_sup == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(result.mi_normed, np.eye(3), atol=1e-6)


def test_constant_code_scores_zero():
    result = _scores(np.zeros((60, 3)), sigma=1.0)
    assert result.mig == pytest.approx(0.0, abs=1e-9)
    assert result.active_units.size == 0
    assert result.mig_sup == 0.0


def test_duplicated_latent_kills_mig_not_mig_sup():
    factors = all_classes((6, 4))
    means = factors[:, [0, 0, 1, 1]].astype(float)
    result = _scores(means, factor_sizes=(6, 4))
    assert result.mig == pytest.approx(0.0, abs=1e-6)
    assert result.mig_sup == pytest.approx(1.0, abs=1e-6)


def test_latent_mixing_two_factors_lowers_mig_sup_only():
    factors = all_classes(GRID)
    mixed = (factors[:, 0] * GRID[1] + factors[:, 1]).astype(float)
    means = np.stack([mixed, factors[:, 2].astype(float)], axis=1)
    result = _scores(means)
    assert result.mig == pytest.approx(1.0, abs=1e-6)
    assert result.mig_sup == pytest.approx(0.5, abs=1e-6)


def test_factor_subset_and_fixed_seed():
    means = all_classes(GRID).astype(float)
    first = _scores(means, sigma=0.5, seed=3, num_samples=20,
                    factor_indices=(0, 2))
    again = _scores(means, sigma=0.5, seed=3, num_samples=20,
                    factor_indices=(0, 2))
    other = _scores(means, sigma=0.5, seed=4, num_samples=20,
                    factor_indices=(0, 2))
    assert first.mi_normed.shape == (2, 3)
    np.testing.assert_array_equal(first.call_entropies, again.call_entropies)
    assert not np.array_equal(first.call_entropies, other.call_entropies)


def test_fast_and_brute_estimates_agree():
    means = all_classes(GRID) * np.array([0.1, 0.3, 1.0])
    fast = _scores(means, sigma=0.2, method="fast")
    brute = _scores(means, sigma=0.2, method="brute")
    np.testing.assert_allclose(fast.call_entropies, brute.call_entropies,
                               atol=1e-9)


def test_subsample_is_all_rows_when_fewer():
    result = _scores(all_classes(GRID).astype(float), num_samples=10 ** 6)
    assert result.call_entropies.shape == (1 + sum(GRID), 3)


def test_missing_factor_value_is_an_error():
    factors = all_classes(GRID)
    with pytest.raises(ValueError, match="factor 0"):
        factor_value_rows(factors[factors[:, 0] != 2], GRID, (0,))


def test_params_from_mean_logvar_halves_the_log_variance():
    params = params_from_mean_logvar(np.ones((2, 3)), np.full((2, 3), 2.0))
    assert params.shape == (2, 3, 2)
    np.testing.assert_array_equal(params[..., 1], 1.0)
