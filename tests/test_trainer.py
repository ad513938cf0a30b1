"""The progressive trainer: tracing, fade-in, checkpoints and resume."""

import dataclasses
import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from provlae_tf.api import load_checkpoint
from provlae_tf.config import DataConfig, RunConfig, TrainConfig
from provlae_tf.data.sources import ArraySource
from provlae_tf import run_files
from provlae_tf.errors import TrainingDiverged, UserError
from provlae_tf.train import run_directory
from provlae_tf.train.run_log import RunLog
from provlae_tf.train.trainer import Interrupted, Trainer

NUM_IMAGES, BATCH, EPOCHS, FADE = 56, 16, 2, 4
STEPS_PER_STAGE = EPOCHS * (NUM_IMAGES // BATCH)  # 6: the remainder is dropped


def source():
    rng = np.random.default_rng(0)
    images = (rng.random((NUM_IMAGES, 64, 64, 1)) < 0.3).astype(np.uint8)
    return ArraySource("test", images, max_value=1)


def make_config(run_dir, **train):
    defaults = dict(epochs_per_stage=EPOCHS, batch_size=BATCH,
                    fade_in_duration=FADE, log_every=2, seed=3)
    return RunConfig(str(run_dir), data=DataConfig("dsprites"),
                     train=TrainConfig(**{**defaults, **train}))


def make_trainer(run_dir, callbacks=(), data=None, **train):
    config = make_config(run_dir, **train)
    log = RunLog(str(run_dir), "train.log", quiet=True)
    return Trainer(config, data or source(), log, callbacks)


def final_state(trainer):
    values = {v.name: v.numpy() for v in trainer.variables}
    values.update({f"m{i}": m.numpy() for i, m in enumerate(trainer.optimizer.m)})
    values["beta1_power"] = trainer.optimizer.beta1_power.numpy()
    values["global_step"] = int(trainer.state.global_step)
    return values


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """An uninterrupted run of all stages, with the per-step alphas seen."""
    run_dir = tmp_path_factory.mktemp("reference")
    seen = []
    trainer = make_trainer(run_dir, callbacks=[seen.append])
    trainer.run()
    return run_dir, trainer, seen


def test_train_step_is_traced_once_per_stage(reference_run):
    _, trainer, seen = reference_run
    assert len(seen) == 3 * STEPS_PER_STAGE
    assert trainer.train_step.experimental_get_tracing_count() == 3


def test_fade_in_restarts_every_stage(reference_run):
    seen = reference_run[2]
    expected = [min(1.0, i / FADE) for i in range(STEPS_PER_STAGE)]
    for stage in (1, 2, 3):
        alphas = [s.alpha for s in seen if s.stage == stage]
        assert alphas == expected
        assert [s.step_in_stage for s in seen if s.stage == stage] == \
            list(range(1, STEPS_PER_STAGE + 1))


def test_optimizer_state_carries_across_stages(reference_run):
    trainer = reference_run[1]
    # Reference §7: beta1_power after k stages of n steps is 0.9^(1 + n*k).
    np.testing.assert_allclose(trainer.optimizer.beta1_power.numpy(),
                               0.9 ** (1 + 3 * STEPS_PER_STAGE), rtol=1e-5)


def test_stage_snapshots_and_load_checkpoint(reference_run):
    run_dir, trainer, _ = reference_run
    run_directory.write_config(trainer.config, None)
    for stage in (1, 2, 3):
        assert glob.glob(str(run_dir / "stages" / f"stage{stage}" / "ckpt.index"))
    model, config = load_checkpoint(str(run_dir))
    assert model.stage == 3 and config == trainer.config
    for ours, theirs in zip(model.trainable_variables,
                            trainer.model.trainable_variables):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    stage1, _ = load_checkpoint(str(run_dir), stage=1)
    assert stage1.stage == 1
    assert not np.array_equal(stage1.trainable_variables[0].numpy(),
                              model.trainable_variables[0].numpy())


def test_tensorboard_scalars_are_written(reference_run):
    run_dir = reference_run[0]
    tags = set()
    for path in glob.glob(str(run_dir / "tensorboard" / "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    assert {"loss/reconstruction", "loss/kl_total", "kl/ladder1",
            "kl/ladder2", "kl/ladder3", "schedule/alpha",
            "schedule/stage"} <= tags


def stop_at(step, action):
    def callback(info):
        if info.global_step == step:
            action()
    return callback


def test_graceful_interrupt_resumes_exactly(reference_run, tmp_path):
    trainer = make_trainer(tmp_path)
    # Mid-epoch, mid-fade: stage 2, second step of its first epoch.
    trainer.callbacks.append(stop_at(STEPS_PER_STAGE + 2, lambda: setattr(
        trainer, "stop_requested", True)))
    with pytest.raises(Interrupted, match="Rerun the same command"):
        trainer.run()
    resumed = make_trainer(tmp_path)
    assert resumed.restore()
    assert int(resumed.state.stage) == 2
    assert int(resumed.state.step_in_stage) == 2
    resumed.run()
    assert_same_state(final_state(resumed), final_state(reference_run[1]))


def test_killed_run_resumes_from_the_last_checkpoint(reference_run, tmp_path):
    def crash():
        raise RuntimeError("killed")
    trainer = make_trainer(tmp_path, callbacks=[
        stop_at(STEPS_PER_STAGE + 5, crash)])  # stage 2, epoch 2
    with pytest.raises(RuntimeError):
        trainer.run()
    resumed = make_trainer(tmp_path)
    assert resumed.restore() and int(resumed.state.epoch) == 1
    resumed.run()
    assert_same_state(final_state(resumed), final_state(reference_run[1]))


def test_stage_by_stage_equals_all_stages(reference_run, tmp_path):
    for stage in ("1", "2", "3"):
        trainer = make_trainer(tmp_path, train_seq=stage)
        trainer.run()
    assert_same_state(final_state(trainer), final_state(reference_run[1]))


def test_stage_needs_the_previous_stage_of_a_started_run(tmp_path):
    make_trainer(tmp_path, train_seq="1").run()
    written = sorted(os.listdir(tmp_path / "ckpt"))
    trainer = make_trainer(tmp_path, train_seq="3")
    with pytest.raises(UserError, match="--train_seq=3.*only stage 1 "
                                        "finished.*Run --train_seq=2"):
        trainer.run()
    assert sorted(os.listdir(tmp_path / "ckpt")) == written


def test_nan_loss_is_a_clear_error(tmp_path):
    data = source()
    data.max_value = 0  # 0/0 and 1/0: NaN and inf pixels
    trainer = make_trainer(tmp_path, data=data)
    # NaN from the first batch on: the first step is named.
    with pytest.raises(TrainingDiverged, match="nan at stage 1, epoch 1, "
                                               "step 1[.]"):
        trainer.run()
    assert not os.path.exists(tmp_path / "ckpt")  # nothing diverged is saved
    # The log ends with it, as the experiment runner reads it.
    assert run_files.divergence(str(tmp_path)).startswith(
        "The loss became nan at stage 1, epoch 1, step 1. The last good")


def test_run_directory_of_another_model_is_refused(reference_run, tmp_path):
    run_dir = reference_run[0]
    config = make_config(run_dir)
    run_directory.write_config(config, None)
    other = dataclasses.replace(
        config, model=dataclasses.replace(config.model, z_dim=3))
    with pytest.raises(UserError, match="z_dim=2 there, 3 asked"):
        run_directory.check_run_directory(other)
    assert run_directory.check_run_directory(config) == config
    (tmp_path / "notes.txt").write_text("not a run")
    with pytest.raises(UserError, match="holds no provlae_tf run"):
        run_directory.check_run_directory(make_config(tmp_path))
