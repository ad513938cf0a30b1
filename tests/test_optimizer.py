"""TF1 AdamOptimizer semantics against a numpy transcription of its update."""

import numpy as np
import pytest
import tensorflow as tf

from provlae_tf.train.optimizer import TF1Adam, steps_from_powers
from tests.tf1_powers import TINY, first_zero, tf1_power


def numpy_tf1_adam(w, grads, lr=5e-4, b1=0.9, b2=0.999, eps=1e-8):
    # The hyperparameters as the float32 values the kernel sees.
    lr, b1, b2, eps = (float(np.float32(h)) for h in (lr, b1, b2, eps))
    m, v = np.zeros_like(w), np.zeros_like(w)
    b1p, b2p = b1, b2
    for g in grads:
        lr_t = lr * np.sqrt(1 - b2p) / (1 - b1p)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr_t * m / (np.sqrt(v) + eps)
        b1p, b2p = b1p * b1, b2p * b2
    return w, m, v, b1p, b2p


def test_updates_match_the_tf1_formula():
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(5, 3))
    grads = [rng.normal(size=(5, 3)) * 10 ** rng.uniform(-4, 1)
             for _ in range(7)]
    var = tf.Variable(w0, dtype=tf.float32)
    opt = TF1Adam([var])
    for g in grads:
        opt.apply_gradients([tf.constant(g, tf.float32)])
    w, m, v, b1p, b2p = numpy_tf1_adam(w0, grads)
    np.testing.assert_allclose(var.numpy(), w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(opt.m[0].numpy(), m, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(opt.v[0].numpy(), v, rtol=1e-5, atol=1e-12)
    # Reference §7: beta1_power after n steps is 0.9^(1 + n).
    np.testing.assert_allclose(opt.beta1_power.numpy(), 0.9 ** 8, rtol=1e-6)
    np.testing.assert_allclose(opt.beta2_power.numpy(), b2p, rtol=1e-6)
    assert int(opt.steps) == 7


def test_first_step_moves_each_weight_by_about_lr():
    # With bias correction the first TF1 Adam step is lr * sign(g).
    var = tf.Variable([1.0, -2.0, 3.0])
    TF1Adam([var], learning_rate=0.01).apply_gradients(
        [tf.constant([0.3, -5.0, 1e-3])])
    np.testing.assert_allclose(var.numpy(), [0.99, -1.99, 2.99], rtol=1e-5)


def test_the_step_count_is_read_off_the_powers_exactly():
    zero1 = first_zero(0.9)
    assert abs(zero1 - np.log(TINY) / np.log(0.9)) < 2  # ~828, < 1 epoch
    for n in (0, 1, 7, 40, zero1 - 1, zero1, 6000, 50_000):
        steps = steps_from_powers(tf1_power(0.9, n), tf1_power(0.999, n))
        assert steps.exact == n, (n, steps)
        assert int(steps) == n
    # beta1_power alone, while it is not 0.
    assert steps_from_powers(tf1_power(0.9, zero1 - 1)).exact == zero1 - 1
    assert steps_from_powers(np.float32(0.0)).exact is None


def test_an_underflowed_count_is_unknown_never_wrong():
    zero1, zero2 = first_zero(0.9), first_zero(0.999)
    # Both powers 0.0: only a lower bound.
    steps = steps_from_powers(np.float32(0.0), np.float32(0.0))
    assert (steps.exact, steps.at_least) == (None, zero2)
    assert steps.describe() == (
        f"an unknown number of Adam steps (at least {zero2}: beta1_power "
        "underflowed to 0; beta2_power underflowed to 0)")
    with pytest.raises(ValueError, match="unknown"):
        int(steps)
    # beta2_power says 100 steps, but beta1_power is 0.0 only from `zero1`.
    steps = steps_from_powers(np.float32(0.0), tf1_power(0.999, 100))
    assert (steps.exact, steps.at_least) == (None, zero1)
    assert "inconsistent with beta2_power, which says 100" in steps.reason
    # The powers disagree.
    steps = steps_from_powers(tf1_power(0.9, 40), tf1_power(0.999, 41))
    assert steps.exact is None and "disagree" in steps.reason
    # Not a float32 power of beta at all (e.g. other betas).
    steps = steps_from_powers(np.float32(0.0), np.float32(0.5))
    assert (steps.exact, steps.at_least) == (None, zero1)
    # Subnormal (a device without flush-to-zero): a bound, as 0.0.
    steps = steps_from_powers(np.float32(1e-40), np.float32(0.0))
    assert (steps.exact, steps.at_least) == (None, zero2)


def test_the_step_count_uses_the_given_betas():
    b1p, b2p = tf1_power(0.8, 50), tf1_power(0.99, 50)
    assert steps_from_powers(b1p, b2p, beta1=0.8, beta2=0.99).exact == 50
    assert steps_from_powers(b1p, b2p).exact is None  # 0.9 / 0.999: no match
    n = first_zero(0.8) + 10  # beta1_power 0.0, beta2 = 0.99 still normal
    assert tf1_power(0.8, n) == 0.0 and tf1_power(0.99, n) >= TINY
    assert steps_from_powers(np.float32(0.0), tf1_power(0.99, n),
                             beta1=0.8, beta2=0.99).exact == n


def test_adam_continues_from_an_underflowed_beta1_power():
    """TF1 keeps multiplying the stored powers: 0.0 stays 0.0 and
    lr_t = lr * sqrt(1 - beta2_power) / (1 - 0)."""
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(4, 3)).astype(np.float32)
    m0 = (rng.normal(size=(4, 3)) * 1e-2).astype(np.float32)
    v0 = (rng.uniform(size=(4, 3)) * 1e-4).astype(np.float32)
    g = rng.normal(size=(4, 3)).astype(np.float32)
    b2p = tf1_power(0.999, 6000)
    var = tf.Variable(w0)
    opt = TF1Adam([var])
    opt.m[0].assign(m0)
    opt.v[0].assign(v0)
    opt.beta1_power.assign(0.0)
    opt.beta2_power.assign(b2p)
    assert opt.steps.exact == 6000
    opt.apply_gradients([tf.constant(g)])
    lr, b1, b2, eps = (float(np.float32(h)) for h in (5e-4, 0.9, 0.999, 1e-8))
    lr_t = lr * np.sqrt(1 - float(b2p)) / (1 - 0.0)
    m = b1 * m0.astype(np.float64) + (1 - b1) * g
    v = b2 * v0.astype(np.float64) + (1 - b2) * g.astype(np.float64) ** 2
    w = w0 - lr_t * m / (np.sqrt(v) + eps)
    np.testing.assert_allclose(opt.m[0].numpy(), m, rtol=1e-5)
    np.testing.assert_allclose(opt.v[0].numpy(), v, rtol=1e-5)
    np.testing.assert_allclose(var.numpy() - w0, w - w0, rtol=1e-3,
                               atol=2e-7)
    assert opt.beta1_power.numpy() == 0.0
    assert opt.beta2_power.numpy() == tf1_power(0.999, 6001)
    assert opt.steps.exact == 6001
