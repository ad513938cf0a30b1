"""Original TF1 run directories as provlae_tf runs: train from, load, convert.

An original checkpoint records the network's shape and Adam's step count,
but not the stage it finished nor the dataset: those come from
``--train_seq`` (as in the original scripts) and ``--dataset`` (guessed
from the channels and architecture when not given).

Adam's step count is read off its beta powers, which a long run underflows
(``beta1_power`` is 0.0 after 828 steps): when they cannot tell it, the run
made from the checkpoint numbers its own steps from 0 and says so, instead
of inventing a count (training itself goes on exactly as TF1's would).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Collection, Mapping, Optional

import tensorflow as tf

from provlae_tf import run_files
from provlae_tf.config import (DataConfig, ModelConfig, RunConfig,
                               TrainConfig, build_config, load_run_config)
from provlae_tf.convert import tf1
from provlae_tf.errors import UserError
from provlae_tf.fileio import atomic_write_text
from provlae_tf.model.ladder import ProVLAE
from provlae_tf.model.naming import original_variable_table
from provlae_tf.datasets import DATASETS, dataset_named_by
from provlae_tf.train import checkpoint_writes, checkpoints
from provlae_tf.train.optimizer import TF1Adam


# Reference: docs/original.md#dataset-choice
def guess_dataset(info: tf1.OriginalCheckpoint) -> str:
    """The dataset an original checkpoint was most likely trained on, from
    its network and channels (used when no directory name tells it)."""
    if info.architecture == "celeba":
        return "celeba"
    return "3dshapes" if info.channels == 3 else "dsprites"


# Reference: docs/original.md#dataset-choice
def original_dataset(values: Mapping[str, Any], explicit: Collection[str],
                     info: tf1.OriginalCheckpoint) -> tuple[str, Optional[str]]:
    """The dataset to use with an original checkpoint, and a notice line.

    ``--dataset`` when given; else the original's own rule on the name of
    ``--checkpoint_dir``, then on the name of the original directory
    (``--init_from``); else a guess from the checkpoint's network and
    channels.
    """
    if "dataset" in explicit:
        return values["dataset"], None
    for flag in ("checkpoint_dir", "init_from"):
        named = dataset_named_by(values.get(flag) or "")
        if named and DATASETS[named].channels != info.channels:
            raise UserError(
                f"--{flag}={values[flag]}: its name selects {named} "
                f"({DATASETS[named].channels}-channel images) by the original's rule, "
                f"but the original checkpoint {info.prefix} has "
                f"{info.channels} channel(s). Give --dataset.")
        if named:
            return named, (f"dataset {named}, from --{flag}, as the original "
                           "chose it; give --dataset to choose")
    guessed = guess_dataset(info)
    return guessed, (f"dataset {guessed}, guessed from the original "
                     f"checkpoint ({info.architecture} network, "
                     f"{info.channels} channel(s)); give --dataset to choose")


# Reference: docs/original.md#dataset-choice
def resolve_original(values: Mapping[str, Any], explicit: Collection[str]
                     ) -> tuple[RunConfig, Optional[str]]:
    """The run configuration of flags that start from an original checkpoint.

    The dataset is chosen as :func:`original_dataset` says, and its recipe
    applies to every recipe flag the user did not set (as ``--dataset``
    does); the model's shape is read from the checkpoint.

    Args:
        values: every flag's value, ``init_from`` naming the original
            directory.
        explicit: names of the flags the user set; those must agree with
            the checkpoint, the others are read from it.

    Returns:
        ``(config, notice)``: the notice says how the dataset was chosen when
        ``--dataset`` did not choose it.

    Raises:
        UserError: a flag contradicts the checkpoint, or --train_seq is
            missing (the checkpoint cannot tell its stage).
    """
    init_from = values["init_from"]
    if values["model"] == "beta_vae":
        raise UserError(
            f"--model=beta_vae: {init_from} holds the original's "
            "ladder network, which has no beta-VAE. Start it with "
            "--model=provlae or --model=vlae, or train the beta-VAE from "
            "scratch in a new --checkpoint_dir.")
    info = tf1.inspect(tf1.latest_prefix(init_from), values["adam_beta1"],
                       values["adam_beta2"])
    dataset, notice = original_dataset(values, explicit, info)
    config = build_config({**values, "dataset": dataset,
                           "architecture": info.architecture},
                          {*explicit, "dataset"})
    for flag, asked, found in (
            ("z_dim", config.model.z_dim, info.z_dim),
            ("architecture", values["architecture"], info.architecture)):
        if flag in explicit and asked not in (found, "auto"):
            raise UserError(f"--{flag}={asked}: the original checkpoint "
                            f"{info.prefix} has {flag} {found}. Leave --{flag}"
                            " out; it is read from the checkpoint.")
    if DATASETS[dataset].channels != info.channels:
        raise UserError(f"--dataset={dataset}: {DATASETS[dataset].channels}-channel "
                        f"images, but the original checkpoint {info.prefix} "
                        f"has {info.channels}.")
    if config.train.train_seq == "all":
        raise UserError(
            "--train_seq: an original checkpoint does not record its stage. "
            "Give --train_seq=k to train stage k from it (the checkpoint is "
            "taken as the end of stage k-1), as the original scripts do.")
    model = dataclasses.replace(config.model, z_dim=info.z_dim)
    if int(config.train.train_seq) > model.num_ladders:
        raise UserError(f"--train_seq={config.train.train_seq}: the original "
                        f"checkpoint's model has {model.num_ladders} ladders.")
    return dataclasses.replace(config, model=model), notice


def initialise_from_original(config: RunConfig, model, optimizer,
                             state: checkpoints.TrainingState) -> str:
    """Loads ``config.init_from`` as the end of stage ``train_seq - 1``.

    Returns:
        A line for the log saying what was loaded.
    """
    prefix = tf1.latest_prefix(config.init_from)
    report = tf1.import_original(prefix, model, optimizer, config.restore)
    finished = int(config.train.train_seq) - 1
    state.stage.assign(max(finished, 1))
    state.completed_stages.assign(finished)
    steps = _inspect(prefix, config).steps
    state.global_step.assign(first_step(steps))
    skipped = (f"; skipped {len(report.skipped)}: "
               f"{', '.join(report.skipped[:5])}" if report.skipped else "")
    return (f"Initialised from the original checkpoint {prefix} "
            f"({len(report.loaded)} tensors, {steps.describe()}), taken as "
            f"the end of stage {finished}{skipped}.{numbering_note(steps)}")


def first_step(steps) -> int:
    """The global step a run made from an original checkpoint starts at: its
    Adam step count, or 0 when the beta powers cannot tell it."""
    return steps.exact if steps.exact is not None else 0


def numbering_note(steps) -> str:
    """Says how steps are numbered when the original's count is unknown."""
    if steps.exact is not None:
        return ""
    return (" Adam continues from the stored beta powers as TF1 would; step "
            "numbers (checkpoints, TensorBoard) count from 0 at this import.")


def _inspect(prefix: str, config: RunConfig) -> tf1.OriginalCheckpoint:
    """``tf1.inspect`` with the run's Adam betas (--adam_beta1/2)."""
    return tf1.inspect(prefix, config.train.adam_beta1,
                       config.train.adam_beta2)


def check_importable(config: RunConfig) -> None:
    """Imports ``config.init_from`` into a scratch model: raises before a run
    writes anything if the checkpoint cannot be loaded."""
    model, optimizer, _ = _training_objects(config.model)
    tf1.import_original(tf1.latest_prefix(config.init_from), model, optimizer,
                        config.restore)


def load_original(directory: str, stage: Optional[int],
                  restore: str = "strict", dataset: Optional[str] = None
                  ) -> tuple[ProVLAE, RunConfig]:
    """The model of an original run directory (see ``api.load_checkpoint``).

    Its dataset is ``dataset`` when given, else the original's rule on the
    directory's name, else a guess from the checkpoint.
    """
    prefix = tf1.latest_prefix(directory)
    info = tf1.inspect(prefix)
    if stage is None:
        raise UserError(f"{directory} is an original TF1 checkpoint, which "
                        "does not record its stage: pass stage=k (the "
                        "--train_seq of the run that wrote it).")
    dataset, _ = original_dataset(
        {"dataset": dataset, "checkpoint_dir": directory},
        ("dataset",) if dataset else (), info)
    config = RunConfig(
        directory, data=DataConfig(dataset),
        model=ModelConfig(info.architecture, info.z_dim, info.channels),
        train=TrainConfig(train_seq=str(stage)), init_from=directory,
        restore=restore)
    model = ProVLAE(config.model, stage=stage)
    tf1.import_original(prefix, model, None, restore)
    return model, config


def _training_objects(model_config: ModelConfig):
    model = ProVLAE(model_config)
    optimizer = TF1Adam(list(original_variable_table(model).values()))
    return model, optimizer, checkpoints.TrainingState()


def original_to_run(values: Mapping[str, Any], explicit: Collection[str]
                    ) -> tuple[RunConfig, Optional[str]]:
    """Converts an original directory into a new provlae_tf run directory.

    Args:
        values: every flag's value, as :func:`resolve_original` takes them:
            ``init_from`` the original directory, ``checkpoint_dir`` the new
            run directory, ``train_seq`` the stage the original run trained.
        explicit: the flags the user set (the others in the dataset's recipe
            take the recipe's value, as in training).

    The run ends at stage ``train_seq``, so ``--train_seq=train_seq+1``
    continues it. Its global step is Adam's step count, or 0 when the beta
    powers cannot tell it (the beta powers themselves are copied bit for bit
    either way).

    Returns:
        ``(config, notice)`` as :func:`resolve_original`.
    """
    directory, out_dir = values["init_from"], values["checkpoint_dir"]
    train_seq, restore = int(values["train_seq"]), values["restore"]
    prefix = tf1.latest_prefix(directory)
    config, notice = resolve_original(values, explicit)
    config = dataclasses.replace(config, init_from=os.path.abspath(directory))
    info = _inspect(prefix, config)
    model, optimizer, state = _training_objects(config.model)
    tf1.import_original(prefix, model, optimizer, restore)
    step = first_step(info.steps)
    for var, value in ((state.stage, train_seq),
                       (state.completed_stages, train_seq),
                       (state.step_in_stage, tf1.iteration_of(prefix)),
                       (state.global_step, step)):
        var.assign(value)
    with checkpoint_writes.staged_directory(out_dir) as tmp:
        config = dataclasses.replace(config, checkpoint_dir=os.path.abspath(
            out_dir))
        atomic_write_text(run_files.path(tmp, run_files.CONFIG),
                          config.to_json())
        ckpt = checkpoints.training_checkpoint(model, optimizer, state)
        tf.train.CheckpointManager(
            ckpt, checkpoints.checkpoint_prefix_dir(tmp), 1,
            checkpoint_name=checkpoints.CHECKPOINT_NAME).save(
                checkpoint_number=step)
        checkpoint_writes.write_stage_snapshot(ckpt, tmp, train_seq)
    return config, notice


def run_to_original(run_dir: str, out_dir: str) -> str:
    """Writes a provlae_tf run's latest checkpoint in the original layout.

    Returns:
        The TF1 checkpoint prefix written.
    """
    config = load_run_config(run_dir)
    latest = tf.train.latest_checkpoint(checkpoints.checkpoint_prefix_dir(
        run_dir)) if config else None
    if latest is None:
        raise UserError(f"{run_dir}: no provlae_tf checkpoint (config.json and "
                        "ckpt/) to export.")
    model, optimizer, state = _training_objects(config.model)
    checkpoints.training_checkpoint(model, optimizer, state).restore(
        latest).assert_existing_objects_matched()
    # Reference: docs/original.md#checkpoint-naming
    # The original names checkpoints by the iteration in the stage.
    return tf1.export_original(model, optimizer, out_dir,
                               int(state.step_in_stage))
