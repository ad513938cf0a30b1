"""Numerical parity with the original TF1 code (fixtures/tf1_dsprites).

The original checkpoint (stage 2 of the dSprites recipe) is loaded through
the explicit name table; the forward pass and one training step must match
what the original computed from it.
"""

import numpy as np
import pytest
import tensorflow as tf

from provlae_tf.config import ModelConfig
from provlae_tf.convert import tf1
from provlae_tf.model.ladder import ProVLAE
from provlae_tf.model.naming import (frozen_statistics_table,
                                     original_variable_table)
from provlae_tf.train import schedule
from provlae_tf.train.loss import compute_losses
from provlae_tf.train.optimizer import TF1Adam
from tests.shared_fixtures import fixture_path

STAGE = 2


def max_rel_error(ours, reference) -> float:
    ours = np.asarray(ours, np.float64)
    reference = np.asarray(reference, np.float64)
    scale = max(np.abs(reference).max(), 1e-30)
    return float(np.abs(ours - reference).max() / scale)


@pytest.fixture(scope="module", params=[False, True],
                ids=["default_path", "exact_zero_branches"])
def original(request):
    """Our model and TF1Adam holding the original checkpoint, via the importer
    (with the default path, which skips the inactive ladder's zero-multiplied
    branch, and with --exact_zero_branches, which computes it)."""
    directory = fixture_path("tf1_dsprites")
    model = ProVLAE(ModelConfig("small", z_dim=2, channels=1), stage=STAGE,
                    exact_zero_branches=request.param)
    table = original_variable_table(model)
    optimizer = TF1Adam(list(table.values()))
    report = tf1.import_original(tf1.latest_prefix(str(directory)), model,
                                 optimizer)
    assert not report.skipped
    return model, table, optimizer, directory


def test_every_original_variable_is_mapped(original):
    model, table, _, directory = original
    names = {n for n, _ in tf.train.list_variables(
        str(directory / "checkpoint-20"))}
    model_names = {n for n in names if "Adam" not in n and "power" not in n
                   and "moving_" not in n}
    assert set(table) == model_names


def test_original_bn_statistics_are_frozen(original):
    """Reference §4: the moving statistics are never updated."""
    model, directory = original[0], original[3]
    reader = tf.train.load_checkpoint(str(directory / "checkpoint-20"))
    names = {n for n, _ in tf.train.list_variables(
        str(directory / "checkpoint-20")) if "moving_" in n and "Adam" not in n}
    table = frozen_statistics_table(model)
    assert set(table) == names and len(names) == 2 * 18  # 18 "BN" layers
    for name, (shape, value) in table.items():
        np.testing.assert_array_equal(reader.get_tensor(name),
                                      np.full(shape, value), err_msg=name)


@pytest.mark.parametrize("prefix, alpha", [("", 1.0), ("fade03_", 0.3)])
def test_forward_pass_matches(original, prefix, alpha):
    check_forward_pass(original[0], prefix, alpha)


def check_forward_pass(model, prefix: str, alpha: float) -> None:
    """The model's encoder, decoder and losses at ``alpha`` against the
    original's recorded outputs (``prefix`` names the alpha's arrays)."""
    ref = np.load(fixture_path("tf1_dsprites", "reference.npz"))
    x = ref["x"]
    codes = model.encode(x, alpha=alpha)
    for ladder, (mean, log_var) in enumerate(codes, start=1):
        assert max_rel_error(mean, ref[f"{prefix}z_mean{ladder}"]) <= 1e-5
        assert max_rel_error(log_var, ref[f"{prefix}z_logvar{ladder}"]) <= 1e-5
    means = [mean for mean, _ in codes]
    logits = model.decode(means, alpha=alpha)
    assert max_rel_error(tf.sigmoid(logits), ref[f"{prefix}x_out"]) <= 1e-5
    weights = schedule.loss_weights(STAGE, 3, 1.0, 0.5, pre_kl=True)
    np.testing.assert_array_equal(weights, ref["loss_weights"])
    # The loss with z fed = the means: a ModelOutput whose samples are means.
    output = model(x, alpha=alpha, eps=[tf.zeros_like(m) for m in means])
    losses = compute_losses(tf.constant(x), output, weights)
    assert max_rel_error(losses.reconstruction,
                         ref[f"{prefix}reconstr_loss"]) <= 1e-5
    assert max_rel_error(losses.total, ref[f"{prefix}loss"]) <= 1e-5
    for ladder in range(1, 4):
        key = f"{prefix}latent_loss{ladder}"
        if key in ref:
            assert max_rel_error(losses.kl[ladder - 1], ref[key]) <= 1e-5
    if not prefix:
        assert max_rel_error(logits, ref["x_out_logit"]) <= 1e-5
        assert max_rel_error(tf.reduce_sum(losses.kl),
                             ref["latent_loss"]) <= 1e-5
        assert max_rel_error(
            tf.concat(means, axis=1), ref["transform_mean_concat"]) <= 1e-5
        for l, h in enumerate(model.trunk_features(x), start=1):
            assert max_rel_error(h, ref[f"act_h{l}"]) <= 1e-5
        for l, g in model.decoder_maps(means).items():
            assert max_rel_error(g, ref[f"act_g{l}"]) <= 1e-5


def test_one_training_step_matches(original):
    model, table, optimizer, _ = original
    step = np.load(fixture_path("tf1_dsprites",
                                "onestep_inputs_and_losses.npz"))
    after = np.load(fixture_path("tf1_dsprites", "onestep_after_summary.npz"))
    x, alpha = tf.constant(step["x"]), float(step["fade_in"])
    eps = [tf.constant(step[f"eps{l}"]) for l in (1, 2, 3)]
    weights = schedule.loss_weights(STAGE, 3, 1.0, 0.5, pre_kl=True)
    variables = list(table.values())

    def losses():
        return compute_losses(x, model(x, alpha=alpha, eps=eps), weights)

    before = losses()
    assert max_rel_error(before.total, step["pre_loss"]) <= 1e-5
    assert max_rel_error(before.kl, step["pre_KL"]) <= 1e-5
    with tf.GradientTape() as tape:
        total = losses().total
    optimizer.apply_gradients(tape.gradient(total, variables))
    post = losses()
    assert max_rel_error(post.total, step["post_loss"]) <= 1e-5
    assert max_rel_error(post.reconstruction, step["post_reconstr_loss"]) <= 1e-5
    assert max_rel_error(post.kl, step["post_KL"]) <= 1e-5

    state = {"beta1_power": optimizer.beta1_power,
             "beta2_power": optimizer.beta2_power}
    for i, (name, var) in enumerate(table.items()):
        state.update({name: var, name + "/Adam": optimizer.m[i],
                      name + "/Adam_1": optimizer.v[i]})
    checked = set()
    for key in after.files:
        kind, name = key.split(":", 1)
        if "moving_" in name:
            continue  # constants, see test_original_bn_statistics_are_frozen
        ours = state[name].numpy().astype(np.float64)
        ours = {"sum": ours.sum(), "sumsq": (ours * ours).sum(),
                "full": ours}[kind]
        tolerance = 1e-5 if kind == "full" else 1e-4
        assert max_rel_error(ours, after[key]) <= tolerance, key
        checked.add(name)
    # Every variable and Adam slot of ours was compared with the original's.
    assert checked == set(state)
