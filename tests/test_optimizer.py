"""TF1 AdamOptimizer semantics against a numpy transcription of its update."""

import numpy as np
import tensorflow as tf

from provlae_tf.train.optimizer import TF1Adam


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
