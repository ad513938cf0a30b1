"""Original TF1 checkpoints: inspect, strict/optimistic import, export, round trips."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from provlae_tf.api import load_checkpoint
from provlae_tf.config import ModelConfig
from provlae_tf.convert import runs, tf1
from provlae_tf.errors import UserError
from provlae_tf.model.ladder import ProVLAE
from provlae_tf.model.naming import original_variable_table
from provlae_tf.train.optimizer import TF1Adam
from tests.command_line import flag_request, run_convert, run_main
from tests.shared_fixtures import fixture_path


@pytest.fixture()
def original_dir():
    return str(fixture_path("tf1_dsprites"))


def model_and_optimizer(config=ModelConfig("small", 2, 1)):
    model = ProVLAE(config, stage=2)
    return model, TF1Adam(list(original_variable_table(model).values()))


def tensors(prefix):
    reader = tf.train.load_checkpoint(prefix)
    return {name: reader.get_tensor(name)
            for name in reader.get_variable_to_shape_map()}


def test_inspect_reads_shape_and_steps(original_dir):
    info = tf1.inspect(tf1.latest_prefix(original_dir))
    assert (info.architecture, info.z_dim, info.channels) == ("small", 2, 1)
    # 20 iterations at stage 1, 20 at stage 2: beta1_power = 0.9^41.
    assert info.steps.exact == 40 and int(info.steps) == 40
    assert info.steps.describe() == "40 Adam steps"
    assert tf1.iteration_of(info.prefix) == 20


def test_strict_import_loads_every_tensor(original_dir):
    model, optimizer = model_and_optimizer()
    prefix = tf1.latest_prefix(original_dir)
    report = tf1.import_original(prefix, model, optimizer)
    expected = tensors(prefix)
    assert sorted(report.loaded) == sorted(expected) and not report.skipped
    for name, var in original_variable_table(model).items():
        np.testing.assert_array_equal(var.numpy(), expected[name])
        m, v = optimizer.slots(var)
        np.testing.assert_array_equal(m.numpy(), expected[name + "/Adam"])
        np.testing.assert_array_equal(v.numpy(), expected[name + "/Adam_1"])
    assert optimizer.beta1_power.numpy() == expected["beta1_power"]
    assert optimizer.beta2_power.numpy() == expected["beta2_power"]


def test_export_reproduces_the_original_checkpoint(original_dir, tmp_path):
    model, optimizer = model_and_optimizer()
    prefix = tf1.latest_prefix(original_dir)
    tf1.import_original(prefix, model, optimizer)
    out = tf1.export_original(model, optimizer, str(tmp_path / "tf1"), 20)
    ours, theirs = tensors(out), tensors(prefix)
    assert ours.keys() == theirs.keys()
    for name in theirs:
        assert ours[name].dtype == theirs[name].dtype
        np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)
    # Relative paths: the directory can be moved.
    state = (tmp_path / "tf1" / "checkpoint").read_text()
    assert 'model_checkpoint_path: "checkpoint-20"' in state


def test_export_is_readable_by_a_tf1_saver(original_dir, tmp_path):
    model, optimizer = model_and_optimizer()
    tf1.import_original(tf1.latest_prefix(original_dir), model, optimizer)
    out = tf1.export_original(model, optimizer, str(tmp_path / "tf1"), 20)
    manifest = json.loads(
        (fixture_path("tf1_dsprites") / "manifest.json").read_text())
    graph = tf.Graph()
    with graph.as_default():
        # A graph built with the original names, as the original code does.
        variables = {v["name"]: tf.compat.v1.get_variable(
            v["name"], shape=v["shape"], dtype=tf.float32,
            initializer=tf.compat.v1.zeros_initializer())
            for v in manifest["variables"]}
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            saver.restore(session, out)
            kernel = session.run(variables["vae_ladder/qh1/conv2d/kernel"])
    np.testing.assert_array_equal(
        kernel, original_variable_table(model)[
            "vae_ladder/qh1/conv2d/kernel"].numpy())


def test_round_trip_tf1_to_ours_to_tf1_is_lossless(original_dir, tmp_path):
    run = tmp_path / "run"
    config, _ = runs.original_to_run(*flag_request(
        init_from=original_dir, checkpoint_dir=str(run), train_seq="2"))
    assert config.data.dataset == "dsprites"
    assert (run / "config.json").exists()
    assert (run / "stages" / "stage2" / "ckpt.index").exists()
    prefix = runs.run_to_original(str(run), str(tmp_path / "back"))
    assert os.path.basename(prefix) == "checkpoint-20"
    ours, theirs = tensors(prefix), tensors(tf1.latest_prefix(original_dir))
    assert ours.keys() == theirs.keys()
    for name in theirs:
        np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)
    # ... and ours -> tf1 -> ours gives back the same run.
    again = tmp_path / "again"
    runs.original_to_run(*flag_request(init_from=str(tmp_path / "back"),
                                       checkpoint_dir=str(again),
                                       train_seq="2"))
    first = tensors(tf.train.latest_checkpoint(str(run / "ckpt")))
    second = tensors(tf.train.latest_checkpoint(str(again / "ckpt")))
    assert first.keys() == second.keys()
    for name in first:
        if "_CHECKPOINTABLE_OBJECT_GRAPH" not in name:
            np.testing.assert_array_equal(first[name], second[name], name)


def test_load_checkpoint_accepts_an_original_directory(original_dir):
    model, config = load_checkpoint(original_dir, stage=2)
    assert model.stage == 2 and config.model.z_dim == 2
    assert config.data.dataset == "dsprites"
    x = np.load(fixture_path("tf1_dsprites", "reference.npz"))["x"]
    reference = np.load(fixture_path("tf1_dsprites", "reference.npz"))
    np.testing.assert_allclose(model.encode(x)[2][0], reference["z_mean3"],
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(UserError, match="pass stage=k"):
        load_checkpoint(original_dir)


@pytest.mark.parametrize("config, listed", [
    (ModelConfig("small", 3, 1), "vae_ladder/qladder3/dense_1/kernel: "
                                 "expected shape [256, 3], found [256, 2]"),
    (ModelConfig("small", 2, 3), "vae_ladder/qh1/conv2d/kernel: expected "
                                 "shape [4, 4, 3, 32], found [4, 4, 1, 32]"),
    (ModelConfig("celeba", 2, 1), "vae_ladder/qh1/conv2d/kernel: expected "
                                  "shape [4, 4, 1, 64], found [4, 4, 1, 32]"),
])
def test_strict_import_names_the_mismatches_and_loads_nothing(
        original_dir, config, listed):
    model, optimizer = model_and_optimizer(config)
    before = [v.numpy() for v in model.trainable_variables]
    with pytest.raises(UserError) as error:
        tf1.import_original(tf1.latest_prefix(original_dir), model, optimizer)
    assert listed in str(error.value)
    assert "The checkpoint has architecture small, z_dim 2, 1 channel." in \
        str(error.value)
    assert "--restore=optimistic" in str(error.value)
    for old, var in zip(before, model.trainable_variables):
        np.testing.assert_array_equal(old, var.numpy())


def test_optimistic_import_loads_what_matches(original_dir):
    model, optimizer = model_and_optimizer(ModelConfig("small", 3, 1))
    prefix = tf1.latest_prefix(original_dir)
    report = tf1.import_original(prefix, model, optimizer, "optimistic")
    assert "vae_ladder/qladder3/dense_1/kernel" in report.skipped
    assert "vae_ladder/qh1/conv2d/kernel" in report.loaded
    np.testing.assert_array_equal(
        original_variable_table(model)["vae_ladder/qh1/conv2d/kernel"].numpy(),
        tensors(prefix)["vae_ladder/qh1/conv2d/kernel"])


def truncated_copy(original_dir, tmp_path, size=None):
    """A copy of the original directory whose data file is cut short."""
    copy = tmp_path / "orig"
    shutil.copytree(original_dir, copy)
    data = copy / "checkpoint-20.data-00000-of-00001"
    os.chmod(data, 0o644)
    with open(data, "r+b") as f:
        f.truncate(os.path.getsize(data) // 2 if size is None else size)
    return copy


def test_truncated_data_file_is_a_clear_error(original_dir, tmp_path):
    copy = truncated_copy(original_dir, tmp_path)
    model, optimizer = model_and_optimizer()
    with pytest.raises(UserError, match="truncated or corrupt"):
        tf1.import_original(tf1.latest_prefix(str(copy)), model, optimizer)


def test_directory_without_a_checkpoint(tmp_path):
    with pytest.raises(UserError, match="no TF1 'checkpoint' file"):
        tf1.latest_prefix(str(tmp_path))
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "ckpt-9"\n')
    with pytest.raises(UserError, match="ckpt-9.index is missing"):
        tf1.latest_prefix(str(tmp_path))


TINY = ["--max_examples=64", "--batch_size=16", "--epoch_size=1",
        "--fade_in_duration=2", "--log_every=2"]


def test_training_continues_an_original_directory_in_place(original_dir,
                                                           tmp_path):
    copy = tmp_path / "orig"
    shutil.copytree(original_dir, copy)
    result = run_main(f"--checkpoint_dir={copy}", *TINY)
    assert result.returncode == 1
    assert "--train_seq: an original checkpoint does not record its stage" \
        in result.stderr
    assert not (copy / "config.json").exists()
    result = run_main(f"--checkpoint_dir={copy}",
                      "--train_seq=3", *TINY)
    assert result.returncode == 0, result.stderr
    assert "Initialised from the original checkpoint" in result.stdout
    assert "taken as the end of stage 2" in result.stdout
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(
        str(copy / "ckpt")))
    # Adam continues: 40 original steps + 4 of stage 3.
    np.testing.assert_allclose(
        reader.get_tensor("optimizer/beta1_power/.ATTRIBUTES/VARIABLE_VALUE"),
        0.9 ** (1 + 40 + 4), rtol=1e-5)


def test_init_from_refuses_contradicting_flags(original_dir, tmp_path):
    run = tmp_path / "run"
    result = run_main(f"--checkpoint_dir={run}",
                      f"--init_from={original_dir}", "--train_seq=3",
                      "--z_dim=3", *TINY)
    assert result.returncode == 1
    assert "--z_dim=3: the original checkpoint" in result.stderr
    assert "has z_dim 2" in result.stderr and not run.exists()


def test_convert_command_line(original_dir, tmp_path):
    out = tmp_path / "ours"
    result = run_convert("--to=tf2",
                         f"--checkpoint_dir={original_dir}", "--train_seq=2",
                         f"--out_dir={out}")
    assert result.returncode == 0, result.stderr
    assert "--train_seq=3" in result.stdout
    back = tmp_path / "tf1"
    result = run_convert("--to=tf1",
                         f"--checkpoint_dir={out}", f"--out_dir={back}")
    assert result.returncode == 0, result.stderr
    assert (back / "checkpoint-20.index").exists()
    result = run_convert("--to=tf1",
                         f"--checkpoint_dir={out}", f"--out_dir={back}")
    assert result.returncode == 1
    assert "exists and is not empty" in result.stderr


def test_unloadable_original_writes_nothing(original_dir, tmp_path):
    copy = truncated_copy(original_dir, tmp_path, size=1000)
    run = tmp_path / "run"
    result = run_main(f"--checkpoint_dir={run}",
                      f"--init_from={copy}", "--train_seq=3", *TINY)
    assert result.returncode == 1
    assert "truncated or corrupt" in result.stderr
    assert "Traceback" not in result.stderr and not run.exists()
