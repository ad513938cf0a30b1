"""Factor metric, histogram MIG, per-ladder helpers and I(x; z_l)."""

import numpy as np
import pytest

from provlae_tf.factor_grid import all_classes
from provlae_tf.metrics.factor_vae import factor_vae_score
from provlae_tf.metrics.histogram_mig import (discrete_entropy,
                                              discrete_mutual_info,
                                              discretize, histogram_mig,
                                              histogram_mig_from_ground_truth)
from provlae_tf.metrics.information import (gaussian_conditional_entropy,
                                            information_per_ladder,
                                            mutual_information)
from provlae_tf.metrics.ladders import (ladder_columns, per_ladder,
                                        select_ladder)
from provlae_tf.metrics.mig import estimate_mig
from provlae_tf.metrics import mixture
from provlae_tf.metrics.mixture import log_normal
from provlae_tf.metrics.synthetic import FactorsAsObservations, gaussian_code

SIZES = (3, 6, 10, 8)


def _factor_score(represent, seed=0, **kwargs):
    kwargs = {"num_train": 800, "num_eval": 400,
              "num_variance_estimate": 2000, **kwargs}
    return factor_vae_score(FactorsAsObservations(SIZES), represent,
                            np.random.default_rng(seed), **kwargs)


# --- factor metric -----------------------------------------------------------

def test_factor_metric_identity_is_perfect():
    result = _factor_score(lambda x: x)
    assert result.eval_accuracy == 1.0 and result.train_accuracy == 1.0
    assert result.num_active_dims == len(SIZES)
    assert result.train_votes.sum() == 800


def test_factor_metric_ignores_permutation_and_scale():
    order, scale = np.array([2, 0, 3, 1]), np.array([0.5, 2.0, 3.0, 0.1])
    assert _factor_score(lambda x: x[:, order] * scale).eval_accuracy == 1.0


def test_factor_metric_prunes_small_latents():
    def represent(x):
        quiet = 1e-3 * np.arange(len(x))[:, None] / len(x)
        return np.concatenate([quiet, x], axis=1)
    result = _factor_score(represent)
    assert result.num_active_dims == len(SIZES)
    assert result.eval_accuracy == 1.0


def test_factor_metric_constant_code_scores_zero():
    result = _factor_score(lambda x: np.zeros((len(x), 4)))
    assert result.num_active_dims == 0 and result.eval_accuracy == 0.0


def test_factor_metric_missing_factor_and_noise_score_lower():
    missing = _factor_score(lambda x: x[:, :3]).eval_accuracy
    assert 0.7 < missing < 0.9  # factor 3's votes go to some other latent
    rng = np.random.default_rng(9)
    noise = _factor_score(lambda x: rng.normal(size=(len(x), 4)))
    assert noise.eval_accuracy < 0.5


def test_factor_metric_fixed_seed_is_deterministic():
    def represent(x):
        return x + 0.3 * np.sin(7.0 * x[:, ::-1])
    first, again = _factor_score(represent, 4), _factor_score(represent, 4)
    assert first.eval_accuracy == again.eval_accuracy
    np.testing.assert_array_equal(first.train_votes, again.train_votes)


# --- histogram MIG -----------------------------------------------------------

def test_histogram_mig_identity_on_the_grid_is_one():
    factors = all_classes(SIZES)
    result = histogram_mig(factors.astype(float), factors)
    assert result.mig == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(np.diag(result.mutual_information),
                               np.log(SIZES), rtol=1e-12)


def test_histogram_mig_constant_and_duplicated_codes():
    factors = all_classes(SIZES)
    constant = histogram_mig(np.zeros((len(factors), 2)), factors)
    assert constant.mig == 0.0
    duplicated = histogram_mig(factors[:, [0, 0, 1, 2, 3]].astype(float),
                               factors)
    assert duplicated.mig == pytest.approx(0.75, abs=1e-12)


def test_discrete_mi_matches_entropy_identity():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 5, (500, 2))
    y = (x[:, :1] + rng.integers(0, 3, (500, 1))) % 4
    joint = x[:, :1] * 10 + y
    expected = (discrete_entropy(x[:, :1]) + discrete_entropy(y)
                - discrete_entropy(joint))
    assert discrete_mutual_info(x, y)[0, 0] == pytest.approx(expected[0])
    counts = np.bincount(y[:, 0]) / 500
    assert discrete_entropy(y)[0] == pytest.approx(-np.sum(counts *
                                                           np.log(counts)))


def test_discretize_uses_twenty_equal_bins():
    codes = np.random.default_rng(0).normal(size=(1000, 2)) * [1.0, 50.0]
    bins = discretize(codes)
    for j in range(2):
        assert bins[:, j].min() == 1 and bins[:, j].max() == 20
        np.testing.assert_array_equal(np.bincount(bins[:, j])[1:],
                                      np.histogram(codes[:, j], 20)[0])


def test_histogram_mig_from_ground_truth_sampled_identity():
    result = histogram_mig_from_ground_truth(
        FactorsAsObservations(SIZES), lambda x: x, np.random.default_rng(2),
        num_train=4000)
    assert 0.97 < result.mig < 1.0  # finite-sample MI between factors > 0


# --- per ladder --------------------------------------------------------------

def test_ladder_columns_bottom_first():
    assert ladder_columns(1, 2, 3).tolist() == [0, 1]
    assert ladder_columns(3, 2, 3).tolist() == [4, 5]
    with pytest.raises(ValueError):
        ladder_columns(4, 2, 3)
    with pytest.raises(ValueError):
        select_ladder(np.zeros((2, 5)), 1, 2, 3)


def test_mig_per_ladder():
    sizes = (4, 5)
    factors = all_classes(sizes)
    # Ladder 1 codes both factors, ladder 2 is constant.
    means = np.concatenate([factors.astype(float), np.zeros((20, 2))], axis=1)
    samples, params = gaussian_code(means, 0.01, np.random.default_rng(0))
    scores = per_ladder(
        lambda s, p: estimate_mig(s, p, factors, sizes,
                                  rng=np.random.default_rng(1)).mig,
        (samples, params), z_dim=2, num_ladders=2)
    assert scores[1] == pytest.approx(1.0, abs=1e-6)
    assert scores[2] == pytest.approx(0.0, abs=1e-6)


# --- I(x; z_l) ---------------------------------------------------------------

def test_information_is_zero_when_the_code_ignores_x():
    rng = np.random.default_rng(3)
    n = 3000
    means, log_sigmas = np.zeros((n, 2)), np.zeros((n, 2))
    samples = rng.normal(size=(n, 2))
    info = mutual_information(samples, means, log_sigmas, rng, 1000)
    assert abs(info) < 0.1


def test_information_of_separated_codes_reaches_log_n():
    rng = np.random.default_rng(4)
    n = 2000
    means = np.stack([np.arange(n) * 1.0, rng.normal(size=n)], axis=1)
    log_sigmas = np.full((n, 2), np.log(0.01))
    samples = means + 0.01 * rng.normal(size=(n, 2))
    info = mutual_information(samples, means, log_sigmas, rng, n)
    # Each query's own component is all of its sum: I = log n up to the noise
    # of mean_s 0.5 |eps_s|^2 against its expectation (std 0.022 here).
    assert info == pytest.approx(np.log(n), abs=0.1)


def test_information_matches_a_direct_computation():
    rng = np.random.default_rng(5)
    n, d = 50, 3
    means = rng.normal(size=(n, d))
    log_sigmas = rng.normal(-0.5, 0.3, (n, d))
    samples = means + np.exp(log_sigmas) * rng.normal(size=(n, d))
    subsample = np.array([3, 7, 11, 40])
    expected_h = np.mean([
        np.log(n) - np.log(sum(np.exp(np.sum(log_normal(
            samples[s], means[i], log_sigmas[i]))) for i in range(n)))
        for s in subsample])
    expected_h_given_x = np.mean(
        np.sum(0.5 * np.log(2 * np.pi * np.e * np.exp(2 * log_sigmas)), 1))
    assert gaussian_conditional_entropy(log_sigmas) == pytest.approx(
        expected_h_given_x)
    assert mutual_information(samples, means, log_sigmas,
                              subsample=subsample) == pytest.approx(
        expected_h - expected_h_given_x, rel=1e-10)


def test_information_per_ladder_orders_ladders():
    rng = np.random.default_rng(6)
    n = 1000
    informative = rng.normal(size=(n, 1))
    means = np.concatenate([informative, np.zeros((n, 1))], axis=1)
    log_sigmas = np.log(np.array([[0.05, 1.0]])) * np.ones((n, 2))
    samples = means + np.exp(log_sigmas) * rng.normal(size=(n, 2))
    params = np.stack([means, log_sigmas], axis=-1)
    info = information_per_ladder(samples, params, 1, 2, rng, 500)
    assert info.shape == (2,)
    assert info[0] > 2.0 and abs(info[1]) < 0.1


@pytest.mark.parametrize("log_sigma_range, guarded", [((-4.0, 0.5), False),
                                                      ((-14.0, -12.0), True)])
def test_expanded_joint_mixture_equals_the_brute_force(log_sigma_range,
                                                       guarded, monkeypatch):
    rng = np.random.default_rng(8)
    n, d = 3000, 3
    means = rng.normal(0, 3, (n, d))
    log_sigmas = rng.uniform(*log_sigma_range, (n, d))
    queries = (means + np.exp(log_sigmas) * rng.normal(size=(n, d)))[:70]
    brute = mixture.log_joint_mixture_brute(queries, means, log_sigmas)
    calls = []
    original = mixture.log_joint_mixture_brute
    monkeypatch.setattr(mixture, "log_joint_mixture_brute",
                        lambda *a: calls.append(1) or original(*a))
    fast = mixture.log_joint_mixture(queries, means, log_sigmas,
                                     block_elements=1000)
    # sigma ~ 1e-6 with |x| ~ 10: the expanded form would lose digits, so the
    # brute force answers; otherwise the expansion agrees to rounding.
    assert bool(calls) == guarded
    np.testing.assert_allclose(fast, brute, rtol=0, atol=1e-8)
