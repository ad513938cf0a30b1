"""Checkpoints: the training state, where they live in a run directory
(``ckpt/ckpt-<step>.*``, ``stages/stage<k>/``), and reading them back
(verified, with one clear line for a damaged file).

Writing them is :mod:`provlae_tf.train.checkpoint_writes`; the run
directory's layout, config.json and the rules for continuing a run are
:mod:`provlae_tf.train.run_directory`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
from typing import Optional

import numpy as np
import tensorflow as tf

from provlae_tf import run_files
from provlae_tf.errors import UserError
from provlae_tf.fileio import describe_os_error

# The rolling checkpoints are ckpt/<CHECKPOINT_NAME>-<global step>.
CHECKPOINT_NAME = "ckpt"
# What writing a file can raise: Python's own I/O, and TensorFlow's file
# system (checkpoints, the state file), which reports ENOSPC as
# ResourceExhaustedError, EACCES as PermissionDeniedError, and so on.
WRITE_ERRORS = (OSError, tf.errors.OpError)
# What reading a damaged (truncated, overwritten) checkpoint raises.
_READ_ERRORS = (tf.errors.OpError, IndexError, ValueError)


# Reference: docs/original.md#resume
class TrainingState(tf.Module):
    """Where training is: stage, epoch and iteration, and the epoch's data order.

    Saved in every checkpoint so that rerunning a command resumes exactly,
    fade-in included (alpha depends on the iteration within the stage).
    """

    def __init__(self):
        super().__init__(name="training_state")
        as_int = lambda v, n: tf.Variable(v, dtype=tf.int64, trainable=False,
                                          name=n)
        self.stage = as_int(1, "stage")
        self.completed_stages = as_int(0, "completed_stages")
        self.epoch = as_int(0, "epoch")  # within the stage
        self.step_in_epoch = as_int(0, "step_in_epoch")
        self.step_in_stage = as_int(0, "step_in_stage")
        self.global_step = as_int(0, "global_step")
        # Unknown length: the state restores whatever the dataset size was.
        self.order = tf.Variable(np.zeros(0, np.int32), trainable=False,
                                 shape=tf.TensorShape([None]),
                                 name="data_order")

    def describe(self) -> str:
        """Where training is, for people (epochs counted from 1)."""
        if int(self.completed_stages) >= int(self.stage):
            return f"the end of stage {int(self.stage)}"
        return (f"stage {int(self.stage)}, epoch {int(self.epoch) + 1}, "
                f"step {int(self.step_in_epoch)} of the epoch "
                f"({int(self.step_in_stage)} in the stage)")


# Reference: docs/original.md#adam-state-across-stages
def training_checkpoint(model, optimizer, state) -> tf.train.Checkpoint:
    """The object graph of every provlae_tf checkpoint."""
    return tf.train.Checkpoint(model=model, optimizer=optimizer, state=state)


# Reference: docs/original.md#checkpoint-naming
def checkpoint_prefix_dir(run_dir: str) -> str:
    return run_files.path(run_dir, run_files.CHECKPOINTS)


# Reference: docs/original.md#stage-snapshots
def stage_snapshot_dir(run_dir: str, stage: int) -> str:
    return run_files.stage_snapshot_dir(run_dir, stage)


def read_completed_stages(run_dir: str) -> Optional[int]:
    """Finished stages recorded in the checkpoint a rerun resumes from (None
    if there is none); no writes.

    Raises:
        UserError: that checkpoint is damaged (see :func:`verify_checkpoint`).
    """
    latest = latest_checkpoint(run_dir)
    if latest is None:
        return None
    reader = verify_checkpoint(latest)
    return int(reader.get_tensor(
        "state/completed_stages/.ATTRIBUTES/VARIABLE_VALUE"))


def read_stage(prefix: str) -> int:
    """The stage recorded in a checkpoint (``prefix`` as tf.train names it).

    Raises:
        UserError: the checkpoint is damaged (see :func:`verify_checkpoint`).
    """
    reader = verify_checkpoint(prefix)
    return int(reader.get_tensor("state/stage/.ATTRIBUTES/VARIABLE_VALUE"))


def latest_checkpoint(run_dir: str) -> Optional[str]:
    """The checkpoint that rerunning the command resumes from, or None.

    The newest rolling checkpoint of ``ckpt/`` whose files are there. When
    none of those the state file lists is left (moved aside after damage,
    or ``ckpt/`` deleted), the snapshot of the last finished stage, so that
    a run never silently starts again from scratch while it holds one.
    Whether the files are intact is :func:`verify_checkpoint`'s business.
    """
    for prefix in _candidates(run_dir):
        if checkpoint_exists(prefix):
            return prefix
    return None


def verify_checkpoint(prefix: str) -> "tf.train.CheckpointReader":
    """Reads every tensor of a checkpoint once (checksums included).

    Returns:
        A reader of the checkpoint.

    Raises:
        UserError: one line naming the damaged file (e.g. truncated by a kill
            or a full disk) and what to do; nothing is changed.
    """
    try:
        reader = tf.train.load_checkpoint(prefix)
    except _READ_ERRORS as e:
        raise _damaged(prefix, prefix + ".index", e) from None
    try:
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)
    except _READ_ERRORS as e:
        data = sorted(glob.glob(glob.escape(prefix) + ".data-*"))
        raise _damaged(prefix, data[0] if len(data) == 1 else
                       prefix + ".data-*", e) from None
    return reader


def restore_checkpoint(checkpoint: tf.train.Checkpoint, prefix: str) -> None:
    """Restores every object of ``checkpoint`` from ``prefix``.

    Raises:
        UserError: the checkpoint is damaged (see :func:`verify_checkpoint`).
    """
    verify_checkpoint(prefix)
    try:
        status = checkpoint.restore(prefix)
    except _READ_ERRORS as e:  # changed between the check and the restore
        raise _damaged(prefix, prefix + ".index", e) from None
    status.assert_consumed()


def _candidates(run_dir: str) -> list[str]:
    """Checkpoints to resume from, best first: the rolling ones the state
    file lists (newest first), then the stage snapshots (last stage first)."""
    directory = checkpoint_prefix_dir(run_dir)
    state = tf.train.get_checkpoint_state(directory)
    rolling = []
    if state is not None:
        rolling = [state.model_checkpoint_path] + [
            p for p in reversed(state.all_model_checkpoint_paths)
            if not same_checkpoint(p, state.model_checkpoint_path)]
    stages = []
    for path in glob.glob(os.path.join(glob.escape(run_dir), run_files.STAGES,
                                       "stage*")):
        name = os.path.basename(path)[len("stage"):]
        if name.isdigit():
            stages.append((int(name), os.path.join(path, "ckpt")))
    return rolling + [p for _, p in sorted(stages, reverse=True)]


def same_checkpoint(a: str, b: str) -> bool:
    return os.path.normpath(os.path.abspath(a)) == \
        os.path.normpath(os.path.abspath(b))


def checkpoint_exists(prefix: str) -> bool:
    return os.path.exists(prefix + ".index")


def checkpoint_files(prefix: str) -> list[str]:
    """The files of one checkpoint: its index and its data shards."""
    escaped = glob.escape(prefix)
    return sorted(glob.glob(escaped + ".index") + glob.glob(escaped + ".data-*"))


def checkpoint_and_temp_files(prefix: str) -> list[str]:
    """The files of one checkpoint and the leftovers of writing it."""
    escaped = glob.escape(prefix)
    return sorted(checkpoint_files(prefix) + glob.glob(escaped + ".*tempstate*")
                  + glob.glob(escaped + "_temp*"))


def remove_checkpoint(prefix: str) -> None:
    for path in checkpoint_and_temp_files(prefix):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)


def _run_dir_of(prefix: str) -> Optional[str]:
    """The run directory of a rolling checkpoint or a stage snapshot."""
    parent = os.path.dirname(os.path.abspath(prefix))
    if os.path.basename(parent) == run_files.CHECKPOINTS:
        return os.path.dirname(parent)
    if os.path.basename(os.path.dirname(parent)) == run_files.STAGES:
        return os.path.dirname(os.path.dirname(parent))
    return None


def _describe_prefix(prefix: str, run_dir: str) -> str:
    rel = os.path.relpath(prefix, run_dir)
    parts = rel.split(os.sep)
    if len(parts) == 3 and parts[0] == run_files.STAGES:
        return (f"the snapshot taken at the end of stage "
                f"{parts[1][len('stage'):]} ({os.path.dirname(rel)})")
    return f"the checkpoint {rel}"


def _damaged(prefix: str, file: str, error: BaseException) -> UserError:
    """The one-line error for a checkpoint that cannot be read.

    The choice: refuse rather than fall back silently. A damaged file can
    mean a failing disk or a copy still in progress, and falling back can
    throw away up to a stage of training; so nothing is changed, and the
    message says which intact checkpoint the same command resumes from once
    the damaged files are moved out of the way.
    """
    reason = describe_error(error)
    run_dir = _run_dir_of(prefix)
    folder, name = os.path.split(prefix)
    what = (f"{file}: damaged checkpoint ({reason}); it was probably cut "
            "short by a kill or a full disk. Nothing was changed.")
    if run_dir is None:
        return UserError(what)
    fallback = "the start of training (no intact checkpoint is left)"
    for candidate in _candidates(run_dir):
        if same_checkpoint(candidate, prefix) or not checkpoint_exists(candidate):
            continue
        try:
            tf.train.load_checkpoint(candidate)
        except _READ_ERRORS:
            continue
        fallback = _describe_prefix(candidate, run_dir)
        break
    if os.path.basename(folder) == run_files.CHECKPOINTS:
        todo = (f"Move {name}.index and {name}.data-* out of {folder} (or "
                f"delete them) and rerun the same command to resume from "
                f"{fallback}.")
    else:
        todo = (f"Delete {folder} to use {fallback} instead (training "
                "resumes from there).")
    return UserError(f"{what} {todo}")


def describe_error(error: BaseException) -> str:
    """A short reason for one line: 'No space left on device', ..."""
    if isinstance(error, OSError):
        return describe_os_error(error)
    text = (getattr(error, "message", None) or str(error)).strip()
    text = text.splitlines()[0] if text else type(error).__name__
    # TensorFlow's file errors read "<file>; <strerror>".
    text = text.rsplit("; ", 1)[-1]
    return text if len(text) <= 160 else text[:157] + "..."
