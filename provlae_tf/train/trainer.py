"""The progressive training loop.

One :class:`Trainer` owns the model, the TF1-equivalent Adam, the training
state and the checkpoint manager of one run directory. ``train_step`` is a
single ``tf.function`` whose trace key holds the stage (a Python int): it is
traced once per stage, while alpha and the step are tensors.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from typing import Callable, Optional, Sequence

import tensorflow as tf
import tf_keras as keras

from provlae_tf import run_files
from provlae_tf.config import RunConfig
from provlae_tf.data import pipeline
from provlae_tf.data.base import ImageSource
from provlae_tf.errors import Interrupted, UserError
from provlae_tf.model import stages
from provlae_tf.model.build import build_model
from provlae_tf.model.ladder import ProVLAE
from provlae_tf.model.naming import original_variable_table
from provlae_tf.progress import ProgressBar, steps_after_epoch
from provlae_tf.random_streams import epoch_order
from provlae_tf.train import (checkpoint_writes, checkpoints, distribute,
                              run_directory, schedule)
from provlae_tf.train.epoch_stats import EpochSpeed, LossWindow
from provlae_tf.train.optimizer import TF1Adam
from provlae_tf.train.run_log import RunLog, epoch_summary
from provlae_tf.train.step import DynamicLossScale, TrainStep


# Starts a run that has no checkpoint of its own (e.g. from an original TF1
# checkpoint): fills (model, optimizer, state), returns a line for the log.
Initialiser = Callable[[ProVLAE, TF1Adam, checkpoints.TrainingState], str]


@dataclasses.dataclass(frozen=True)
class StageEnd:
    """Passed to the stage-end actions when a stage has finished and saved."""

    model: ProVLAE
    source: ImageSource
    stage: int
    global_step: int
    run_log: RunLog


@dataclasses.dataclass
class StepInfo:
    """Passed to callbacks after every training step."""

    stage: int
    epoch: int
    step_in_epoch: int
    step_in_stage: int
    global_step: int
    alpha: float


class Trainer:
    """Trains a pro-VLAE progressively in one run directory.

    Args:
        config: the run configuration.
        source: the training images.
        log: where lines and scalars go (created from the config if None).
        callbacks: called with a :class:`StepInfo` after every step.
        initialise: starts a run directory without a checkpoint of its own
            (the caller's choice, e.g. an original TF1 checkpoint); None
            starts from the fresh initialisation.
        stage_end: called with a :class:`StageEnd` after every finished
            stage (images, information flow: the caller's choice).
        strategy: a ``tf.distribute`` strategy to train under (see
            :mod:`provlae_tf.train.distribute`); None is the one-device
            step. Under a strategy, ``config.train.batch_size`` is the
            global batch.
        write_dir: where checkpoints and snapshots are written (default
            the run directory; a non-chief worker of a multi-worker run
            writes into a temporary one, and reads the run directory's).
        chief: this process shows the progress bar.
    """

    # Reference: docs/original.md#initialisation
    # Reference: docs/original.md#checkpoint-naming
    def __init__(self, config: RunConfig, source: ImageSource,
                 log: Optional[RunLog] = None,
                 callbacks: Sequence[Callable[[StepInfo], None]] = (),
                 initialise: Optional[Initialiser] = None,
                 stage_end: Sequence[Callable[[StageEnd], None]] = (),
                 strategy=None, write_dir: Optional[str] = None,
                 chief: bool = True):
        train = config.train
        pipeline.steps_per_epoch(source.num_examples, train.batch_size)
        distribute.check_global_batch(train.batch_size,
                                      distribute.replicas(strategy))
        self.strategy, self.chief = strategy, chief
        self.write_dir = write_dir or config.checkpoint_dir
        self.config, self.source = config, source
        self.log = log or RunLog(config.checkpoint_dir, config.log_file)
        self.callbacks = list(callbacks)
        self.initialise = initialise
        self.stage_end = list(stage_end)
        self.stop_requested = False
        keras.utils.set_random_seed(train.seed)
        # The model and the optimizer's state are mirrored on the replicas;
        # the training state is bookkeeping of this process (never touched
        # by the step), so it stays a plain host variable.
        scope = strategy.scope() if strategy is not None \
            else contextlib.nullcontext()
        with scope:
            self._build(config)
        self.state = checkpoints.TrainingState()
        self.checkpoint = checkpoints.training_checkpoint(
            self.model, self.optimizer, self.state)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint,
            checkpoints.checkpoint_prefix_dir(self.write_dir),
            max_to_keep=train.max_to_keep, checkpoint_name="ckpt")
        # One step for every strategy: the default strategy object runs it
        # on one device.
        step = TrainStep(strategy or tf.distribute.get_strategy(),
                         self.model, self.variables, self.optimizer,
                         self._weights, train.seed, source.max_value,
                         self.loss_scale)
        # The step's Python control flow depends only on Python values (the
        # stage, the model's structure), so AutoGraph has nothing to convert;
        # without it the first trace in a process takes seconds less.
        self.train_step = tf.function(step, jit_compile=train.xla,
                                      autograph=False)

    def _build(self, config: RunConfig) -> None:
        """The model, the optimizer and the loss scale (mixed_float16)."""
        train = config.train
        with distribute.precision_policy(train.mixed_precision):
            self.model = build_model(
                config.model, stage=1,
                exact_zero_branches=train.exact_zero_branches)
        # Reference: docs/original.md#zero-branch-skipping
        gap = self.model.zero_branch_skip_gap()
        if gap is not None and not train.exact_zero_branches:
            self.log.line(f"Notice: {gap}; computing the zero-multiplied "
                          "branches as the original does "
                          "(--exact_zero_branches).")
            self.model.exact_zero_branches = True
        self.variables = list(original_variable_table(self.model).values())
        self.optimizer = TF1Adam(self.variables, train.learning_rate,
                                 train.adam_beta1, train.adam_beta2,
                                 train.adam_epsilon)
        self.loss_scale = DynamicLossScale() \
            if train.mixed_precision == "mixed_float16" else None

    # ------------------------------------------------------------- the loop
    # Reference: docs/original.md#resume
    def restore(self) -> bool:
        """Restores the latest checkpoint of the run directory, if any.

        A run without a checkpoint of its own starts from the trainer's
        ``initialise``, when it has one.
        """
        latest = checkpoints.latest_checkpoint(self.config.checkpoint_dir)
        if latest is None:
            if self.initialise is None:
                return False
            self.log.line(self.initialise(self.model, self.optimizer,
                                          self.state))
            return True
        checkpoints.restore_checkpoint(self.checkpoint, latest)
        self.log.line(f"Resuming {self.config.checkpoint_dir} at "
                      f"{self.state.describe()} from {latest}.")
        return True

    # Reference: docs/original.md#stages-per-command
    # Reference: docs/original.md#finished-stage-rerun
    def run(self) -> None:
        """Trains the configured stages, resuming wherever the run stopped."""
        try:
            restored = self.restore()
            stages = self.config.train.stages(self.model.num_ladders)
            if not restored:
                self._start_fresh(stages[0])
            run_directory.check_stage_order(
                stages, int(self.state.completed_stages),
                self.config.checkpoint_dir)
            for stage in stages:
                if int(self.state.completed_stages) >= stage:
                    self.log.line(f"Stage {stage} is already complete in "
                                  f"{self.config.checkpoint_dir}; nothing to "
                                  "do.")
                    continue
                self._train_stage(stage)
        except distribute.peer_errors() as e:
            if not distribute.is_multi_worker(self.strategy):
                raise
            # A collective op failed: another worker stopped (killed, its
            # machine down). The last checkpoint is intact.
            raise UserError(
                "Another worker of the multi-worker run stopped "
                f"({type(e).__name__}: {checkpoints.describe_error(e)}). "
                "Rerun the same command on every worker to resume from the "
                f"last checkpoint in {self.config.checkpoint_dir}.") from None
        except UserError as e:  # interrupted, diverged: keep it in the log
            # (unless the log cannot be written either: the error matters more)
            with contextlib.suppress(OSError):
                self.log.line(f"{type(e).__name__}: {e}", echo=False)
            raise

    # Reference: docs/original.md#start-at-any-stage
    # Reference: docs/original.md#baselines
    def _start_fresh(self, first_stage: int) -> None:
        """A run without a checkpoint starts at its first stage: stages
        before it are skipped (the original's --train_seq=k on an empty
        directory), and the baselines say what they train instead."""
        train, model = self.config.train, self.config.model
        if model.kind != "provlae":
            self.log.line(
                f"--model={model.kind}: ladders "
                f"{stages.active_ladders(first_stage, model.num_ladders)} "
                f"trained together from the first step for "
                f"{train.epochs_per_stage} epochs (the progressive run's "
                "total), without fade-in or pre-KL.")
        elif first_stage > 1:
            skipped = ("stage 1" if first_stage == 2
                       else f"stages 1..{first_stage - 1}")
            self.log.line(
                f"Starting at stage {first_stage} from a fresh initialisation;"
                f" {skipped} skipped, as the original does with --train_seq="
                f"{first_stage} on an empty directory.")
        self.state.completed_stages.assign(first_stage - 1)

    def _train_stage(self, stage: int) -> None:
        state, train = self.state, self.config.train
        if int(state.stage) != stage or int(state.completed_stages) >= stage:
            for var, value in ((state.stage, stage), (state.epoch, 0),
                               (state.step_in_epoch, 0),
                               (state.step_in_stage, 0)):
                var.assign(value)
        if int(state.step_in_stage) == 0:
            self.log.line(
                f"Stage {stage}: ladders "
                f"{stages.active_ladders(stage, self.model.num_ladders)} "
                f"active, KL weights {self._weights(stage)}.")
        self.model.set_stage(stage)
        while int(state.epoch) < train.epochs_per_stage:
            self._train_epoch(stage)
        state.completed_stages.assign(stage)
        # The snapshot first: a rerun after a failure (or a kill) between
        # the two writes redoes this stage end rather than skip the snapshot.
        path = checkpoint_writes.write_stage_snapshot(
            self.checkpoint, self.write_dir, stage)
        checkpoint_writes.save_checkpoint(
            self.manager, int(state.global_step), self.write_dir)
        self.log.line(f"Stage {stage} finished; snapshot in {path}.")
        end = StageEnd(self.model, self.source, stage,
                       int(state.global_step), self.log)
        for action in self.stage_end:
            action(end)

    def _weights(self, stage: int) -> list[float]:
        """The stage's KL weight per ladder (``schedule.loss_weights``)."""
        t = self.config.train
        return schedule.loss_weights(stage, self.model.num_ladders, t.beta,
                                     t.coff, t.pre_kl)

    # Reference: docs/original.md#fade-in
    def _train_epoch(self, stage: int) -> None:
        state, train = self.state, self.config.train
        n, epoch = self.source.num_examples, int(state.epoch)
        if int(state.step_in_epoch) == 0:
            state.order.assign(epoch_order(train.seed, stage, epoch, n))
        steps = pipeline.steps_per_epoch(n, train.batch_size)
        batches = pipeline.batches(self.source, state.order.numpy(),
                                   train.batch_size, int(state.step_in_epoch))
        bar = ProgressBar(steps, f"stage {stage} epoch {epoch + 1}/"
                                 f"{train.epochs_per_stage}",
                          stream=None if self.chief else io.StringIO(),
                          first=int(state.step_in_epoch),
                          after=steps_after_epoch(
                              train.stages(self.model.num_ladders), stage,
                              epoch, train.epochs_per_stage, steps))
        window = LossWindow(f"stage {stage}, epoch {epoch + 1}",
                            self._diverged_advice(),
                            first_step=int(state.step_in_epoch))
        speed = EpochSpeed(self.train_step)
        at = StepInfo(stage, epoch, int(state.step_in_epoch),
                      int(state.step_in_stage), int(state.global_step), 1.0)
        alpha_tensor = None
        for images in pipeline.iterate(batches):
            alpha = (schedule.fade_in_alpha(at.step_in_stage,
                                            train.fade_in_duration)
                     if train.fade_in else 1.0)
            if alpha_tensor is None or alpha != at.alpha:  # 1.0 after fade-in
                alpha_tensor = tf.constant(alpha, tf.float32)
            at.alpha = alpha
            window.add(self.train_step(
                images, alpha_tensor, tf.constant(at.global_step, tf.int64),
                stage))
            speed.stepped()
            at.step_in_epoch += 1
            at.step_in_stage += 1
            at.global_step += 1
            for callback in self.callbacks:
                callback(dataclasses.replace(at))
            if at.step_in_epoch % train.log_every == 0 \
                    or at.step_in_epoch == steps or self.stop_requested:
                recon, kl = window.flush()  # raises on a non-finite loss
                bar.update(at.step_in_epoch, {"recon": recon,
                                              "kl": float(kl.sum()),
                                              "alpha": at.alpha})
                self.log.scalars(at.global_step, recon, kl, at.alpha, stage)
            if self.stop_requested:
                bar.close()
                self._save_position(at)
                self._record_training(stage, speed)
                raise Interrupted(
                    f"Interrupted; saved at {self.state.describe()} in "
                    f"{self.config.checkpoint_dir}. Rerun the same command "
                    "to resume.")
        bar.close()
        images_per_s = speed.images_per_s(train.batch_size)  # synced: flushed
        state.epoch.assign(epoch + 1)
        at.step_in_epoch = 0
        self._save_position(at)
        self._record_training(stage, speed)
        recon, kl = window.epoch_means()
        self.log.line(epoch_summary(stage, epoch + 1, train.epochs_per_stage,
                                    recon, kl, at.alpha, images_per_s))

    def _save_position(self, at: StepInfo) -> None:
        self.state.step_in_epoch.assign(at.step_in_epoch)
        self.state.step_in_stage.assign(at.step_in_stage)
        self.state.global_step.assign(at.global_step)
        checkpoint_writes.save_checkpoint(
            self.manager, at.global_step, self.write_dir)

    def _record_training(self, stage: int, speed: EpochSpeed) -> None:
        """Adds this epoch's loop time and work to training.json (after the
        checkpoint that holds that work: a kill between the two loses the
        epoch's seconds, never counts them twice)."""
        if self.chief:
            run_files.record_training(
                self.write_dir, stage, speed.elapsed(),
                speed.all_steps * self.config.train.batch_size,
                speed.all_steps)

    def _diverged_advice(self) -> str:
        return (f"The last good checkpoint is kept in "
                f"{self.manager.directory}; rerunning resumes from it. Lower "
                "--learning_rate or check the input data.")
