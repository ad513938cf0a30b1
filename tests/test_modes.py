"""--mode=2/3 load what the original's command lines ask for: the stage of
--train_seq, and an original checkpoint with --restore."""

import dataclasses
import shutil

import numpy as np
import pytest
import tensorflow as tf

from provlae_tf import modes
from provlae_tf.config import (DataConfig, EvalConfig, ModelConfig, RunConfig,
                               TrainConfig)
from provlae_tf.convert import tf1
from provlae_tf.data.sources import ArraySource
from provlae_tf.errors import UserError
from provlae_tf.model.ladder import ProVLAE
from provlae_tf.model.naming import original_variable_table
from provlae_tf.train import run_directory
from provlae_tf.train.run_log import RunLog
from provlae_tf.train.trainer import Trainer
from tests.shared_fixtures import fixture_path

MISSING = "vae_ladder/gen0/conv2d_transpose/bias"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A tiny three-stage run of our own, with its stage snapshots."""
    run_dir = tmp_path_factory.mktemp("run")
    config = RunConfig(str(run_dir), data=DataConfig("dsprites"),
                       train=TrainConfig(epochs_per_stage=1, batch_size=8,
                                         fade_in_duration=2, seed=1))
    run_directory.write_config(config, None)
    rng = np.random.default_rng(0)
    images = (rng.random((16, 64, 64, 1)) < 0.3).astype(np.uint8)
    Trainer(config, ArraySource("test", images, 1),
            RunLog(str(run_dir), "train.log", quiet=True)).run()
    return run_dir


def eval_config(run_dir, train_seq="all", **kw):
    return RunConfig(str(run_dir), mode="visualize",
                     train=TrainConfig(train_seq=train_seq), **kw)


def weights(model):
    return {name: v.numpy() for name, v in
            original_variable_table(model).items()}


def snapshot_config(run_dir, train_seq):
    return dataclasses.replace(eval_config(run_dir, train_seq),
                               eval=EvalConfig(stage_weights="snapshot"))


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_stage_weights_snapshot_evaluates_that_stages_snapshot(finished_run,
                                                               stage):
    model, _, weights_stage = modes.load_run(
        snapshot_config(finished_run, str(stage)))
    assert model.stage == weights_stage == stage
    # The snapshot, restored independently of the code under test.
    reference = ProVLAE(model.config, stage=stage)
    tf.train.Checkpoint(model=reference).restore(str(
        finished_run / "stages" / f"stage{stage}" / "ckpt")).expect_partial()
    for name, value in weights(reference).items():
        np.testing.assert_array_equal(weights(model)[name], value, name)
    if stage < 3:  # the snapshots differ from the latest checkpoint
        latest, _, _ = modes.load_run(eval_config(finished_run))
        assert any(not np.array_equal(a, b) for a, b in zip(
            weights(model).values(), weights(latest).values()))


def test_train_seq_without_a_snapshot_is_one_clear_line(finished_run,
                                                        tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    shutil.rmtree(copy / "stages" / "stage2")
    with pytest.raises(UserError, match=r"--train_seq=2: .* no snapshot of "
                       r"stage 2 .* latest checkpoint is at stage 3; "
                       r"finished stages: 1, 3"):
        modes.load_run(snapshot_config(copy, "2"))


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_train_seq_shows_the_latest_weights_at_that_stage(finished_run,
                                                          stage):
    """The original's meaning (the default): the latest checkpoint, with the
    network of stage k (the lower ladders switched off)."""
    lines = []
    model, _, weights_stage = modes.load_run(
        eval_config(finished_run, str(stage)), log=lines.append)
    assert (model.stage, weights_stage) == (stage, 3)
    reference = ProVLAE(model.config, stage=3)
    tf.train.Checkpoint(model=reference).restore(tf.train.latest_checkpoint(
        str(finished_run / "ckpt"))).expect_partial()
    for name, value in weights(reference).items():
        np.testing.assert_array_equal(weights(model)[name], value, name)
    assert bool(lines) == (stage != 3)
    # The decoder ignores the codes of the ladders stage k has not switched
    # on: a change in ladder 1's code moves the output only at stage 3.
    codes = [np.zeros((1, 2), np.float32) for _ in range(3)]
    moved = [c.copy() for c in codes]
    moved[0] += 3.0
    changed = not np.array_equal(model.decode(codes).numpy(),
                                 model.decode(moved).numpy())
    assert changed == (stage == 3)


@pytest.fixture()
def original_missing_a_variable(tmp_path):
    """The original fixture without one variable (and its Adam slots), as a
    checkpoint from a slightly different graph would be."""
    prefix = tf1.latest_prefix(str(fixture_path("tf1_dsprites")))
    reader = tf.train.load_checkpoint(prefix)
    values = {name: reader.get_tensor(name)
              for name in reader.get_variable_to_shape_map()
              if not name.startswith(MISSING)}
    out = tmp_path / "original"
    tf1.write_tf1_checkpoint(values, str(out), step=20)
    return out, values


def test_modes_load_originals_strictly_by_default(original_missing_a_variable):
    out, _ = original_missing_a_variable
    with pytest.raises(UserError, match="--restore=optimistic"):
        modes.load_run(eval_config(out, "2"))


def test_modes_honour_restore_optimistic(original_missing_a_variable):
    out, values = original_missing_a_variable
    model, run, _ = modes.load_run(eval_config(out, "2",
                                               restore="optimistic"))
    assert model.stage == 2 and run.data.dataset == "dsprites"
    loaded = weights(model)
    for name in ("vae_ladder/qh1/conv2d/kernel", "vae_ladder/gen0/"
                 "conv2d_transpose/kernel"):
        np.testing.assert_array_equal(loaded[name], values[name])
    np.testing.assert_array_equal(loaded[MISSING], 0.0)  # its initialisation


def test_an_original_directory_has_no_snapshots(original_missing_a_variable):
    out, _ = original_missing_a_variable
    config = dataclasses.replace(
        eval_config(out, "2", restore="optimistic"),
        eval=EvalConfig(stage_weights="snapshot"))
    with pytest.raises(UserError, match="--stage_weights=snapshot: .* keeps "
                       "no copy per stage"):
        modes.load_run(config)


def test_an_original_takes_the_given_dataset(original_missing_a_variable):
    out, _ = original_missing_a_variable
    config = eval_config(out, "2", restore="optimistic",
                         data=DataConfig("mnist"))
    _, run, _ = modes.load_run(config)
    assert run.data.dataset == "mnist"  # 1 channel, as the checkpoint
    with pytest.raises(UserError, match="--dataset=3dshapes: 3-channel"):
        modes.load_run(dataclasses.replace(
            config, data=DataConfig("3dshapes"),
            model=ModelConfig(channels=3)))
