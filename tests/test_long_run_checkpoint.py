"""An original checkpoint after a long run: beta1_power has underflowed to 0.0.

TF1 keeps ``beta1_power = 0.9^(1 + steps)`` in float32 and, on CPU, flushes it
to exactly 0.0 after 828 steps (less than one dSprites epoch). The copies of
the fixture checkpoint built here hold the fixture's weights and Adam slots
with the beta powers the original would have after 6,000 steps (beta1_power
0.0, beta2_power 0.999^6001 in float32: still tells the step count) and after
more than 87,292 steps (both 0.0: the count is unknown). Every path that
reads an original checkpoint must work on them, continue Adam exactly as TF1
does, and report the step count honestly.

Golden values come from the fixture's reference outputs and from plain
float32 / float64 numpy written out here, never from provlae_tf itself.
"""

import re
import shutil

import numpy as np
import pytest
import tensorflow as tf

from provlae_tf.api import load_checkpoint
from provlae_tf.config import ModelConfig, RunConfig, TrainConfig
from provlae_tf.convert import runs, tf1
from provlae_tf.model.ladder import ProVLAE
from provlae_tf.model.naming import original_variable_table
from provlae_tf.train import checkpoints, schedule
from provlae_tf.train.loss import compute_losses
from provlae_tf.train.optimizer import TF1Adam
from tests.command_line import flag_request, run_convert, run_main
from tests.shared_fixtures import fixture_path
from tests.test_fixture_parity import check_forward_pass
from tests.tf1_powers import TINY, first_zero, tf1_power

B1, B2 = np.float32(0.9), np.float32(0.999)
LONG = 6000  # steps of the "long" copy
STAGE = 2  # the fixture is the end of stage 2
TINY_RUN = ["--max_examples=64", "--batch_size=16", "--epoch_size=1",
            "--fade_in_duration=2", "--log_every=2"]  # 4 steps


def fixture_tensors():
    reader = tf.train.load_checkpoint(
        str(fixture_path("tf1_dsprites") / "checkpoint-20"))
    return {name: reader.get_tensor(name)
            for name in reader.get_variable_to_shape_map()}


def tensors(prefix):
    reader = tf.train.load_checkpoint(str(prefix))
    return {name: reader.get_tensor(name)
            for name in reader.get_variable_to_shape_map()}


def write_original(directory, beta1_power, beta2_power):
    """The fixture checkpoint with other beta powers, written as the original
    does (a TF1 Saver, original names, ``checkpoint`` state file)."""
    values = fixture_tensors()
    values["beta1_power"] = np.float32(beta1_power)
    values["beta2_power"] = np.float32(beta2_power)
    tf1.write_tf1_checkpoint(values, str(directory), step=20)
    return directory


@pytest.fixture(scope="module")
def long_run(tmp_path_factory):
    """After 6,000 steps: beta1_power 0.0, beta2_power 0.999^6001."""
    assert tf1_power(B1, LONG) == 0.0
    return write_original(tmp_path_factory.mktemp("long") / "orig",
                          tf1_power(B1, LONG), tf1_power(B2, LONG))


@pytest.fixture(scope="module")
def very_long_run(tmp_path_factory):
    """After 100,000 steps: both powers 0.0, the step count is lost."""
    assert tf1_power(B2, 100_000) == 0.0
    return write_original(tmp_path_factory.mktemp("very_long") / "orig",
                          0.0, 0.0)


def copy_of(directory, tmp_path):
    copy = tmp_path / "orig"
    shutil.copytree(directory, copy)
    return copy


def claims_a_count(text):
    """A line claiming some number of Adam steps ("123 Adam steps")."""
    return re.search(r"\d+ Adam steps?\b", text) is not None


# ---------------------------------------------------------------- the copies
def test_the_copies_hold_the_fixture_with_long_run_powers(long_run,
                                                          very_long_run):
    fixture = fixture_tensors()
    for directory, b1p, b2p in ((long_run, 0.0, tf1_power(B2, LONG)),
                                (very_long_run, 0.0, 0.0)):
        assert (directory / "checkpoint").read_text().startswith(
            'model_checkpoint_path: "checkpoint-20"')
        ours = tensors(directory / "checkpoint-20")
        assert ours.keys() == fixture.keys()
        for name, value in fixture.items():
            if name not in ("beta1_power", "beta2_power"):
                np.testing.assert_array_equal(ours[name], value, name)
        assert ours["beta1_power"].dtype == np.float32
        assert ours["beta1_power"] == b1p and ours["beta2_power"] == b2p
    # beta2_power after 6,000 steps is a normal float32 near 0.999^6001.
    assert tf1_power(B2, LONG) >= TINY
    assert tf1_power(B2, LONG) == pytest.approx(0.999 ** 6001, rel=1e-3)


# ------------------------------------------------------ the step count
def test_inspect_recovers_the_count_from_beta2_power(long_run):
    info = tf1.inspect(tf1.latest_prefix(str(long_run)))
    assert (info.architecture, info.z_dim, info.channels) == ("small", 2, 1)
    assert info.steps.exact == LONG
    assert info.steps.describe() == "6000 Adam steps"


def test_inspect_says_unknown_when_both_powers_underflowed(very_long_run):
    info = tf1.inspect(tf1.latest_prefix(str(very_long_run)))
    assert info.steps.exact is None
    bound = first_zero(B2)  # beta2_power is 0.0 from this update on
    # The bound is where 0.999^(1+n) leaves float32's normal range.
    assert abs(bound - np.log(TINY) / np.log(0.999)) < 3
    assert info.steps.at_least == bound
    text = info.steps.describe()
    assert text.startswith(
        f"an unknown number of Adam steps (at least {bound}")
    assert "beta1_power underflowed to 0" in text and not claims_a_count(text)
    with pytest.raises(ValueError, match="unknown"):
        int(info.steps)


def test_inspect_uses_the_configured_betas(long_run):
    prefix = tf1.latest_prefix(str(long_run))
    # beta2_power = 0.999^6001 is no power of 0.99: not a (wrong) count.
    steps = tf1.inspect(prefix, beta2=0.99).steps
    assert steps.exact is None and steps.at_least == first_zero(B1)
    # beta1_power 0.0 is consistent with 6,000 steps of beta1 = 0.5 (0.0 from
    # ~126 updates on), not with 6,000 of beta1 = 0.999 (0.0 from 87,293 on).
    assert first_zero(0.5) < LONG < first_zero(0.999)
    assert tf1.inspect(prefix, beta1=0.5).steps.exact == LONG
    steps = tf1.inspect(prefix, beta1=0.999).steps
    assert steps.exact is None and not claims_a_count(steps.describe())


def test_initialising_a_run_reports_the_count_or_says_it_is_unknown(
        long_run, tmp_path):
    for beta2, expected in ((0.999, LONG), (0.99, None)):
        config, _ = runs.resolve_original(*flag_request(
            checkpoint_dir=str(tmp_path / "run"), init_from=str(long_run),
            train_seq="3", adam_beta2=beta2))
        model = ProVLAE(config.model)
        optimizer = TF1Adam(list(original_variable_table(model).values()),
                            beta2=beta2)
        state = checkpoints.TrainingState()
        line = runs.initialise_from_original(config, model, optimizer, state)
        assert optimizer.beta1_power.numpy() == 0.0
        if expected is None:
            assert "an unknown number of Adam steps" in line
            assert "count from 0" in line and not claims_a_count(line)
            assert int(state.global_step) == 0
        else:
            assert "(296 tensors, 6000 Adam steps)" in line
            assert int(state.global_step) == LONG


# ------------------------------------------------- the model and Adam
@pytest.mark.parametrize("prefix, alpha", [("", 1.0), ("fade03_", 0.3)])
def test_forward_pass_matches_the_original(long_run, prefix, alpha):
    model, config = load_checkpoint(str(long_run), stage=STAGE)
    assert model.stage == STAGE and config.data.dataset == "dsprites"
    check_forward_pass(model, prefix, alpha)


def test_one_training_step_is_tf1_adam_with_beta1_power_zero(long_run):
    model = ProVLAE(ModelConfig("small", z_dim=2, channels=1), stage=STAGE)
    table = original_variable_table(model)
    variables = list(table.values())
    optimizer = TF1Adam(variables)
    report = tf1.import_original(tf1.latest_prefix(str(long_run)), model,
                                 optimizer)
    assert not report.skipped
    b1p, b2p = optimizer.beta1_power.numpy(), optimizer.beta2_power.numpy()
    assert b1p == 0.0 and b2p == tf1_power(B2, LONG)
    assert optimizer.steps.exact == LONG

    step = np.load(fixture_path("tf1_dsprites",
                                "onestep_inputs_and_losses.npz"))
    x, alpha = tf.constant(step["x"]), float(step["fade_in"])
    eps = [tf.constant(step[f"eps{l}"]) for l in (1, 2, 3)]
    weights = schedule.loss_weights(STAGE, 3, 1.0, 0.5, pre_kl=True)
    with tf.GradientTape() as tape:
        total = compute_losses(x, model(x, alpha=alpha, eps=eps),
                               weights).total
    # Zeros for the branches the default path skips (inactive ladder 1's
    # z-branch), as the original's zero-multiplied branches give.
    gradients = tape.gradient(
        total, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    before = [(w.numpy(), m.numpy(), v.numpy())
              for w, m, v in zip(variables, optimizer.m, optimizer.v)]
    optimizer.apply_gradients(gradients)

    # TF1's AdamOptimizer in float64 numpy, hyperparameters as float32.
    lr, b1, b2, epsilon = (float(np.float32(h)) for h in
                           (5e-4, 0.9, 0.999, 1e-8))
    lr_t = lr * np.sqrt(1 - float(b2p)) / (1 - float(b1p))
    # beta1_power 0.0: no bias correction of m at all (vs / (1 - 0.9^41)).
    assert lr_t == pytest.approx(lr * np.sqrt(1 - 0.999 ** 6001), rel=1e-6)
    moved = 0
    for (w, m, v), var, m_var, v_var, g in zip(
            before, variables, optimizer.m, optimizer.v, gradients):
        g = g.numpy().astype(np.float64)
        m1 = b1 * m + (1 - b1) * g
        v1 = b2 * v + (1 - b2) * g * g
        delta = -lr_t * m1 / (np.sqrt(v1) + epsilon)
        np.testing.assert_allclose(m_var.numpy(), m1, rtol=1e-5,
                                   atol=1e-6 * np.abs(m1).max() + 1e-30)
        np.testing.assert_allclose(v_var.numpy(), v1, rtol=1e-5,
                                   atol=1e-6 * np.abs(v1).max() + 1e-30)
        ours = var.numpy().astype(np.float64) - w
        # float32 arithmetic: rounding of w itself, of the update, and of m
        # where b1 * m and (1 - b1) * g nearly cancel.
        m_rounding = 4 * 2.0 ** -24 * (b1 * np.abs(m) + (1 - b1) * np.abs(g))
        slack = (2 * np.spacing(np.abs(w).astype(np.float32))
                 + 1e-4 * np.abs(delta)
                 + lr_t * m_rounding / (np.sqrt(v1) + epsilon))
        assert np.all(np.abs(ours - delta) <= slack), var.name
        moved += int(np.count_nonzero(delta))
    assert moved > 1000
    # TF1 keeps multiplying the stored powers: 0.0 stays 0.0.
    assert optimizer.beta1_power.numpy() == 0.0
    assert optimizer.beta2_power.numpy() == tf1_power(B2, LONG + 1)
    assert optimizer.steps.exact == LONG + 1


# ------------------------------------------------ the command lines
def test_convert_round_trip_keeps_the_powers_bit_for_bit(long_run, tmp_path):
    ours = tmp_path / "ours"
    result = run_convert("--to=tf2",
                         f"--checkpoint_dir={long_run}", "--train_seq=2",
                         f"--out_dir={ours}")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    latest = tf.train.latest_checkpoint(str(ours / "ckpt"))
    assert latest.endswith(f"ckpt-{LONG}")
    assert tensors(latest)["state/global_step/.ATTRIBUTES/VARIABLE_VALUE"] \
        == LONG
    back = tmp_path / "tf1"
    result = run_convert("--to=tf1",
                         f"--checkpoint_dir={ours}", f"--out_dir={back}")
    assert result.returncode == 0, result.stderr
    again, original = tensors(back / "checkpoint-20"), tensors(
        long_run / "checkpoint-20")
    assert again.keys() == original.keys()
    for name, value in original.items():
        assert again[name].dtype == value.dtype, name
        assert again[name].tobytes() == value.tobytes(), name
    assert again["beta1_power"].tobytes() == np.float32(0.0).tobytes()


def test_convert_of_an_unknown_count_numbers_steps_from_zero(very_long_run,
                                                             tmp_path):
    runs.original_to_run(*flag_request(init_from=str(very_long_run),
                                       checkpoint_dir=str(tmp_path / "ours"),
                                       train_seq="2"))
    latest = tf.train.latest_checkpoint(str(tmp_path / "ours" / "ckpt"))
    assert latest.endswith("ckpt-0")
    prefix = runs.run_to_original(str(tmp_path / "ours"),
                                  str(tmp_path / "tf1"))
    again, original = tensors(prefix), tensors(very_long_run / "checkpoint-20")
    for name in ("beta1_power", "beta2_power"):
        assert again[name].tobytes() == np.float32(0.0).tobytes()
    for name, value in original.items():
        assert again[name].tobytes() == value.tobytes(), name


def test_init_from_continues_a_6000_step_run(long_run, tmp_path):
    run = tmp_path / "run"
    result = run_main(f"--checkpoint_dir={run}",
                      f"--init_from={long_run}", "--train_seq=3", *TINY_RUN)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "(296 tensors, 6000 Adam steps), taken as the end of stage 2" \
        in result.stdout
    latest = tf.train.latest_checkpoint(str(run / "ckpt"))
    assert latest.endswith(f"ckpt-{LONG + 4}")
    saved = tensors(latest)
    b1p = saved["optimizer/beta1_power/.ATTRIBUTES/VARIABLE_VALUE"]
    b2p = saved["optimizer/beta2_power/.ATTRIBUTES/VARIABLE_VALUE"]
    assert b1p == 0.0 and b2p == tf1_power(B2, LONG + 4)


def test_training_in_place_with_an_unknown_count(very_long_run, tmp_path):
    copy = copy_of(very_long_run, tmp_path)
    result = run_main(f"--checkpoint_dir={copy}",
                      "--train_seq=3", *TINY_RUN)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (f"an unknown number of Adam steps (at least {first_zero(B2)}: "
            "beta1_power underflowed to 0") in result.stdout
    assert "count from 0 at this import" in result.stdout
    assert not claims_a_count(result.stdout)
    latest = tf.train.latest_checkpoint(str(copy / "ckpt"))
    assert latest.endswith("ckpt-4")
    saved = tensors(latest)
    for power in ("beta1_power", "beta2_power"):
        assert saved[f"optimizer/{power}/.ATTRIBUTES/VARIABLE_VALUE"] == 0.0
    # The original's files are untouched.
    assert tensors(copy / "checkpoint-20")["beta1_power"] == 0.0


def test_visualize_mode_on_a_long_run(long_run, tmp_path):
    copy = copy_of(long_run, tmp_path)
    result = run_main(f"--checkpoint_dir={copy}",
                      "--mode=2", "--train_seq=2", "--eval_images=64")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "over 64 images" in result.stdout
    assert (copy / "visualize" / "stage2" / "reconstructions.png").exists()


def test_metrics_mode_on_a_long_run(long_run, tmp_path, monkeypatch):
    from provlae_tf import modes
    from provlae_tf.config import DataConfig, EvalConfig
    from provlae_tf.data import registry
    from tests.test_main import _small_dsprites_truth  # 192 images
    copy = copy_of(long_run, tmp_path)
    truth = _small_dsprites_truth()
    monkeypatch.setattr(registry, "load_ground_truth",
                        lambda dataset, data_dir, log: truth)
    config = RunConfig(
        checkpoint_dir=str(copy), mode="metrics",
        data=DataConfig(data_dir=str(tmp_path / "no_data")),
        train=TrainConfig(train_seq="2"),
        eval=EvalConfig(factor_train_votes=200,
                        factor_eval_votes=100, info_samples=100))
    result = modes.metrics(config, log=lambda line: None)
    assert result["stage"] == STAGE and result["num_images"] == 192
    assert (copy / "metrics.json").exists()
