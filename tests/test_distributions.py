"""The loss terms against tfp and an independent numpy computation."""

import numpy as np
import tensorflow as tf

from provlae_tf import distributions
from provlae_tf.model.ladder import LadderCode, ModelOutput
from provlae_tf.train.loss import compute_losses

tfd = distributions.tfd


def test_closed_form_kl_equals_tfp():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(6, 3)).astype(np.float32)
    log_var = rng.normal(size=(6, 3)).astype(np.float32)
    ours = distributions.kl_to_standard_normal(mean, log_var)
    theirs = tfd.kl_divergence(distributions.posterior(mean, log_var),
                               distributions.prior(3))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_reconstruction_is_the_bernoulli_negative_log_likelihood():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 64, 64, 3)).astype(np.float32)
    x = rng.random((2, 64, 64, 3)).astype(np.float32)  # colour, in [0, 1]
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(distributions.reconstruction_loss(x, logits),
                               expected, rtol=1e-5)
    binary = (x > 0.5).astype(np.float32)
    np.testing.assert_allclose(
        distributions.reconstruction_loss(binary, logits),
        -distributions.likelihood(logits).log_prob(binary), rtol=1e-5)


def test_weighted_loss_is_recon_plus_weighted_kls():
    rng = np.random.default_rng(2)
    x = (rng.random((4, 64, 64, 1)) > 0.5).astype(np.float32)
    logits = rng.normal(size=x.shape).astype(np.float32)
    ladders = tuple(LadderCode(rng.normal(size=(4, 2)).astype(np.float32),
                               rng.normal(size=(4, 2)).astype(np.float32),
                               None) for _ in range(3))
    losses = compute_losses(tf.constant(x), ModelOutput(ladders, logits),
                            [0.5, 1.0, 2.0])
    kl = [np.mean(-0.5 * (1 + lv - m ** 2 - np.exp(lv)).sum(1))
          for m, lv, _ in ladders]
    np.testing.assert_allclose(losses.kl, kl, rtol=1e-5)
    recon = np.mean(distributions.reconstruction_loss(x, logits))
    np.testing.assert_allclose(
        losses.total, recon + 0.5 * kl[0] + kl[1] + 2 * kl[2], rtol=1e-6)


def test_prior_draw_is_a_stateless_normal_seeded_by_the_stream():
    got = distributions.sample_prior(4, 5, np.random.default_rng(3))
    # The seed pair: the stream's first draw, two int32 (any value).
    pair = np.random.default_rng(3).integers(
        -2 ** 31, 2 ** 31 - 1, size=2, endpoint=True, dtype=np.int32)
    expected = tf.random.stateless_normal([5, 4], seed=pair).numpy()
    assert got.shape == (5, 4) and got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(
        got, distributions.sample_prior(4, 5, np.random.default_rng(4)))


def closed_form_mean_kl(means, log_vars, z_dim):
    kl = 0.5 * (means ** 2 + np.exp(log_vars) - log_vars - 1.0)
    return kl.reshape(len(kl), -1, z_dim).sum(axis=2).mean(axis=0)


def test_reported_kl_is_the_closed_form(monkeypatch):
    rng = np.random.default_rng(5)
    means = rng.normal(size=(7, 6))                  # 3 ladders of 2
    log_vars = rng.normal(size=(7, 6))
    expected = closed_form_mean_kl(means, log_vars, 2)
    got = distributions.mean_kl_per_ladder(means, log_vars, 2)
    assert got.shape == (3,)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    monkeypatch.setattr(distributions, "_KL_ROWS", 3)  # rows in parts
    np.testing.assert_allclose(
        distributions.mean_kl_per_ladder(means, log_vars, 2), expected,
        rtol=1e-12)
    np.testing.assert_allclose(  # float32 codes, as the model returns them
        distributions.mean_kl_per_ladder(means.astype(np.float32),
                                         log_vars.astype(np.float32), 2),
        expected, rtol=1e-5)


def test_reported_kl_of_known_posteriors():
    # N(0, 1) is the prior: 0 nats. N(1, 1): 0.5 nats a latent. N(0, e^2):
    # 0.5 * (e^2 - 2 - 1) a latent.
    means = np.array([[0.0, 0.0, 1.0, 1.0, 0.0, 0.0]])
    log_vars = np.array([[0.0, 0.0, 0.0, 0.0, 2.0, 2.0]])
    np.testing.assert_allclose(
        distributions.mean_kl_per_ladder(means, log_vars, 2),
        [0.0, 1.0, np.exp(2.0) - 3.0], rtol=1e-12, atol=1e-15)
