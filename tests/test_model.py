"""The ladder architectures against original-code.md §2-§5."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from provlae_tf.config import ModelConfig
from provlae_tf.model.scoped_layers import FrozenStatsBatchNorm
from provlae_tf.model.ladder import ProVLAE, count_trainable_parameters
from provlae_tf.model.naming import original_variable_table

DSPRITES = ModelConfig("small", z_dim=2, channels=1)
CELEBA = ModelConfig("celeba", z_dim=7, channels=3)


@pytest.fixture(scope="module")
def small():
    keras.utils.set_random_seed(0)
    return ProVLAE(DSPRITES, stage=1)


@pytest.fixture(scope="module")
def celeba():
    keras.utils.set_random_seed(0)
    return ProVLAE(CELEBA, stage=1)


def images(channels=1, n=4, seed=0):
    return tf.constant(np.random.default_rng(seed).random(
        (n, 64, 64, channels)), tf.float32)


@pytest.mark.parametrize("config, expected", [
    (DSPRITES, 5_712_237),
    (ModelConfig("small", z_dim=3, channels=3), 5_716_597),
])
def test_small_parameter_counts(config, expected):
    assert count_trainable_parameters(ProVLAE(config)) == expected


def test_celeba_parameter_count(celeba):
    assert count_trainable_parameters(celeba) == 38_253_051


def test_frozen_bn_is_the_inference_affine():
    layer = FrozenStatsBatchNorm()
    x = np.random.default_rng(1).normal(size=(5, 7)).astype(np.float32)
    layer.build(x.shape)
    gamma = np.linspace(0.5, 2, 7).astype(np.float32)
    beta = np.linspace(-1, 1, 7).astype(np.float32)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    expected = gamma * x / np.sqrt(1 + 1e-3) + beta
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5,
                               atol=1e-6)
    # Independently: Keras' own BN in inference mode with mean 0, variance 1.
    bn = keras.layers.BatchNormalization(epsilon=1e-3)
    bn.build(x.shape)
    bn.gamma.assign(gamma)
    bn.beta.assign(beta)
    np.testing.assert_allclose(layer(x).numpy(), bn(x, training=False).numpy(),
                               rtol=1e-5, atol=1e-6)
    assert len(layer.trainable_variables) == 2  # no moving statistics


def test_initialisation(small):
    for name, var in original_variable_table(small).items():
        value = var.numpy()
        if name.endswith(("/bias", "/beta")):
            assert np.all(value == 0), name
        elif name.endswith("/gamma"):
            assert np.all(value == 1), name
        else:  # glorot-uniform kernel
            receptive = np.prod(value.shape[:-2])
            if "conv2d_transpose" in name:  # kernel [h, w, out, in]
                fan_in, fan_out = value.shape[-1], value.shape[-2]
            else:
                fan_in, fan_out = value.shape[-2], value.shape[-1]
            limit = np.sqrt(6 / (receptive * (fan_in + fan_out)))
            assert np.abs(value).max() <= limit, name
            if value.size > 1000:
                assert value.std() == pytest.approx(limit / np.sqrt(3), rel=0.1)


def test_block_order_is_activation_then_bn(small):
    x = images()
    conv = small.trunk[0].original_layers["conv2d"]
    bn = small.trunk[0].original_layers["batch_normalization"]
    bn.gamma.assign(tf.fill(bn.gamma.shape, 2.0))
    try:
        expected = 2.0 * tf.nn.elu(conv(x)) / np.sqrt(1.001)
        np.testing.assert_allclose(small.trunk[0](x), expected, rtol=1e-5,
                                   atol=1e-6)
    finally:
        bn.gamma.assign(tf.ones_like(bn.gamma))


def decoder_gradients(model, stage, alpha=1.0, exact=True):
    codes = [tf.random.stateless_normal([2, model.config.z_dim], [l, 0])
             for l in range(model.num_ladders)]
    variables = [v for g in model.generators for v in g.trainable_variables]
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model.decode(codes, alpha=alpha, stage=stage,
                                          exact=exact))
    return dict(zip([v.name for v in variables],
                    tape.gradient(loss, variables)))


Z_BRANCH_LAYERS = ("dense", "dense_1", "batch_normalization",
                   "batch_normalization_1")


@pytest.mark.parametrize("stage, inactive", [(1, (1, 2)), (2, (1,)), (3, ())])
def test_inactive_z_branches_get_exactly_zero_gradients(small, stage,
                                                        inactive):
    """The exact path (--exact_zero_branches); tests/test_fast_path.py
    checks that the default path gives the same updates."""
    for name, grad in decoder_gradients(small, stage).items():
        assert grad is not None, name  # multiplied by 0, not cut off
        scope, layer = name.split("/")[1:3]  # vae_ladder/gen2/dense_1/kernel:0
        if layer in Z_BRANCH_LAYERS and scope in {f"gen{l}" for l in inactive}:
            assert np.all(grad.numpy() == 0), name
        else:
            assert np.any(grad.numpy() != 0), name


def test_decoder_ignores_inactive_codes_and_fades_the_new_one(small):
    base = [tf.random.stateless_normal([3, 2], [l, 1]) for l in range(3)]
    changed = [base[0] + 5.0, base[1], base[2]]
    np.testing.assert_array_equal(small.decode(base, stage=2),
                                  small.decode(changed, stage=2))
    # Stage 2 fades ladder 2: with alpha = 0 its code has no effect.
    moved = [base[0], base[1] + 5.0, base[2]]
    np.testing.assert_array_equal(small.decode(base, alpha=0.0, stage=2),
                                  small.decode(moved, alpha=0.0, stage=2))
    assert not np.array_equal(small.decode(base, alpha=0.5, stage=2),
                              small.decode(moved, alpha=0.5, stage=2))


def encoder_changes_with_alpha(model, stage):
    """Ladders whose encoder output depends on alpha at ``stage``."""
    x = images(model.config.channels)
    a = model.encode(x, alpha=1.0, stage=stage)
    b = model.encode(x, alpha=0.3, stage=stage)
    return [l for l in range(1, model.num_ladders + 1)
            if not np.array_equal(a[l - 1][0], b[l - 1][0])]


@pytest.mark.parametrize("stage, faded", [(1, []), (2, [2]), (3, [1])])
def test_small_encoder_fades_the_new_ladder(small, stage, faded):
    assert encoder_changes_with_alpha(small, stage) == faded


@pytest.mark.parametrize("stage, faded", [(1, []), (2, [2]), (3, [1]), (4, [])])
def test_celeba_encoder_fade_keeps_the_original_off_by_one(celeba, stage,
                                                           faded):
    assert encoder_changes_with_alpha(celeba, stage) == faded


def test_celeba_encoder_fade_fix_flag():
    keras.utils.set_random_seed(0)
    fixed = ProVLAE(ModelConfig("celeba", 7, 3, fix_encoder_fade=True))
    assert [encoder_changes_with_alpha(fixed, s) for s in (1, 2, 3, 4)] == \
        [[], [3], [2], [1]]


def test_celeba_log_var_clip_comes_after_sampling(celeba):
    head = celeba.heads[3]  # ladder 4
    bias = head.log_var_layer.bias
    bias.assign(tf.fill(bias.shape, 10.0))
    try:
        x = images(3, n=2)
        eps = [tf.ones([2, 7])] * 4
        out = celeba(x, stage=4, eps=eps)
        code = out.ladders[3]
        assert np.all(code.log_var.numpy() <= 3.0)
        np.testing.assert_array_equal(celeba.encode(x)[3][1], code.log_var)
        # The sample used the unclipped log-variance (about 10).
        raw_std = (code.sample - code.mean).numpy()
        assert np.all(raw_std > np.exp(0.5 * 9.0))
    finally:
        bias.assign(tf.zeros_like(bias))


def test_small_model_does_not_clip(small):
    head = small.heads[0]
    bias = head.log_var_layer.bias
    bias.assign(tf.fill(bias.shape, 10.0))
    try:
        assert np.all(small.encode(images())[0][1].numpy() > 9.0)
    finally:
        bias.assign(tf.zeros_like(bias))


def test_output_shapes(small):
    out = small(images(n=3), stage=3)
    assert out.logits.shape == (3, 64, 64, 1)
    assert len(out.ladders) == 3
    assert all(c.mean.shape == (3, 2) for c in out.ladders)
