"""Run directories: config.json, rolling checkpoints, per-stage snapshots.

Layout of a run directory (``--checkpoint_dir``)::

    config.json            the RunConfig of the latest invocation
    invocations.jsonl      one line per invocation (what changed, when)
    ckpt/ckpt-<step>.*     rolling tf.train checkpoints (model, optimizer, state)
    stages/stage<k>/       a snapshot written when stage k finished
    tensorboard/           event files
    train.log              text log (--log_file)
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
import time
from typing import Optional

import numpy as np
import tensorflow as tf

from provlae_tf.config import RunConfig, load_run_config
from provlae_tf.errors import UserError
from provlae_tf.fileio import (atomic_write_text, check_new_directory,
                               check_writable_directory, describe_os_error)

# The rolling checkpoints are ckpt/<CHECKPOINT_NAME>-<global step>.
CHECKPOINT_NAME = "ckpt"
# What writing a file can raise: Python's own I/O, and TensorFlow's file
# system (checkpoints, the state file), which reports ENOSPC as
# ResourceExhaustedError, EACCES as PermissionDeniedError, and so on.
_WRITE_ERRORS = (OSError, tf.errors.OpError)
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
    return os.path.join(run_dir, "ckpt")


# Reference: docs/original.md#stage-snapshots
def stage_snapshot_dir(run_dir: str, stage: int) -> str:
    return os.path.join(run_dir, "stages", f"stage{stage}")


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
        if _exists(prefix):
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
            if not _same(p, state.model_checkpoint_path)]
    stages = []
    for path in glob.glob(os.path.join(glob.escape(run_dir), "stages",
                                       "stage*")):
        name = os.path.basename(path)[len("stage"):]
        if name.isdigit():
            stages.append((int(name), os.path.join(path, "ckpt")))
    return rolling + [p for _, p in sorted(stages, reverse=True)]


def _same(a: str, b: str) -> bool:
    return os.path.normpath(os.path.abspath(a)) == \
        os.path.normpath(os.path.abspath(b))


def _exists(prefix: str) -> bool:
    return os.path.exists(prefix + ".index")


def _checkpoint_files(prefix: str) -> list[str]:
    """The files of one checkpoint: its index and its data shards."""
    escaped = glob.escape(prefix)
    return sorted(glob.glob(escaped + ".index") + glob.glob(escaped + ".data-*"))


def _files(prefix: str) -> list[str]:
    """The files of one checkpoint and the leftovers of writing it."""
    escaped = glob.escape(prefix)
    return sorted(_checkpoint_files(prefix) + glob.glob(escaped + ".*tempstate*")
                  + glob.glob(escaped + "_temp*"))


def _remove(prefix: str) -> None:
    for path in _files(prefix):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)


def _run_dir_of(prefix: str) -> Optional[str]:
    """The run directory of a rolling checkpoint or a stage snapshot."""
    parent = os.path.dirname(os.path.abspath(prefix))
    if os.path.basename(parent) == "ckpt":
        return os.path.dirname(parent)
    if os.path.basename(os.path.dirname(parent)) == "stages":
        return os.path.dirname(os.path.dirname(parent))
    return None


def _describe_prefix(prefix: str, run_dir: str) -> str:
    rel = os.path.relpath(prefix, run_dir)
    parts = rel.split(os.sep)
    if len(parts) == 3 and parts[0] == "stages":
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
    reason = _reason(error)
    run_dir = _run_dir_of(prefix)
    folder, name = os.path.split(prefix)
    what = (f"{file}: damaged checkpoint ({reason}); it was probably cut "
            "short by a kill or a full disk. Nothing was changed.")
    if run_dir is None:
        return UserError(what)
    fallback = "the start of training (no intact checkpoint is left)"
    for candidate in _candidates(run_dir):
        if _same(candidate, prefix) or not _exists(candidate):
            continue
        try:
            tf.train.load_checkpoint(candidate)
        except _READ_ERRORS:
            continue
        fallback = _describe_prefix(candidate, run_dir)
        break
    if os.path.basename(folder) == "ckpt":
        todo = (f"Move {name}.index and {name}.data-* out of {folder} (or "
                f"delete them) and rerun the same command to resume from "
                f"{fallback}.")
    else:
        todo = (f"Delete {folder} to use {fallback} instead (training "
                "resumes from there).")
    return UserError(f"{what} {todo}")


def _reason(error: BaseException) -> str:
    """A short reason for one line: 'No space left on device', ..."""
    if isinstance(error, OSError):
        return describe_os_error(error)
    text = (getattr(error, "message", None) or str(error)).strip()
    text = text.splitlines()[0] if text else type(error).__name__
    # TensorFlow's file errors read "<file>; <strerror>".
    text = text.rsplit("; ", 1)[-1]
    return text if len(text) <= 160 else text[:157] + "..."


# Reference: docs/original.md#stages-per-command
def check_stage_order(stages, completed: int, run_dir: str) -> None:
    """Stage k continues from stage k-1, which must be finished in ``run_dir``."""
    first = stages[0]
    if completed < first - 1:
        have = "no finished stage" if completed == 0 else \
            f"only stage {completed} finished"
        raise UserError(
            f"--train_seq={first}: stage {first} continues from stage "
            f"{first - 1}, but {run_dir} has {have}. Run "
            f"--train_seq={completed + 1} first (or --train_seq=all).")


# Reference: docs/original.md#optimistic-restore
def check_run_directory(config: RunConfig) -> Optional[RunConfig]:
    """Refuses a directory that holds something else; never writes.

    Returns:
        The saved config of the run being continued, or None for a new run.

    Raises:
        UserError: the directory holds another model, or is not a run.
    """
    run_dir = config.checkpoint_dir
    check_writable_directory(run_dir)
    saved = load_run_config(run_dir)
    if saved is None:
        original_in_place = os.path.abspath(config.init_from or "/") == \
            os.path.abspath(run_dir)
        if os.path.isdir(run_dir) and os.listdir(run_dir) \
                and not original_in_place:
            raise UserError(
                f"--checkpoint_dir={run_dir} is not empty and holds no "
                "provlae_tf run (no config.json). Use a new or empty directory.")
        return None
    mismatched = {k: (v, config.identity()[k])
                  for k, v in saved.identity().items()
                  if config.identity()[k] != v}
    if mismatched:
        diffs = ", ".join(f"{k}={old!r} there, {new!r} asked"
                          for k, (old, new) in mismatched.items())
        raise UserError(
            f"--checkpoint_dir={run_dir} holds another model ({diffs}). "
            "Continue it with the same flags, or use a new --checkpoint_dir.")
    return saved


# Reference: docs/original.md#output-layout
def write_config(config: RunConfig, previous: Optional[RunConfig]) -> list[str]:
    """Writes config.json atomically and logs the invocation.

    Returns:
        Human-readable training-flag changes against ``previous``.

    Raises:
        UserError: the run directory cannot be written (permissions, a full
            disk); config.json is then left as it was.
    """
    run_dir = config.checkpoint_dir
    try:
        os.makedirs(run_dir, exist_ok=True)
    except OSError as e:
        raise UserError(f"--checkpoint_dir={run_dir}: cannot create it "
                        f"({describe_os_error(e)}); expected a writable "
                        "directory. Fix its permissions or choose another "
                        "--checkpoint_dir.") from e
    changes = []
    if previous is not None:
        old, new = previous.train.__dict__, config.train.__dict__
        changes = [f"{k}: {old[k]!r} -> {new[k]!r}" for k in new
                   if old.get(k) != new[k] and k != "train_seq"]
    atomic_write_text(os.path.join(run_dir, "config.json"), config.to_json())
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "train_seq": config.train.train_seq, "changed": changes}
    path = os.path.join(run_dir, "invocations.jsonl")
    try:
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")
    except OSError as e:
        raise UserError(f"{path}: cannot write it ({describe_os_error(e)}). "
                        "Free disk space or fix the permissions of "
                        f"--checkpoint_dir={run_dir}, then rerun.") from e
    return changes


@contextlib.contextmanager
def staged_directory(out_dir: str, replace: bool = False):
    """Yields a temporary sibling of ``out_dir`` that becomes it on success.

    Readers never see a half-written directory: on an exception the
    temporary one is removed and ``out_dir`` is left as it was.

    Args:
        out_dir: the directory to create.
        replace: replace an existing ``out_dir``; otherwise it must be
            absent or empty.
    """
    if not replace:
        check_new_directory(out_dir)
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=".tmp-")
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)


# Reference: docs/original.md#stage-snapshots
def write_stage_snapshot(checkpoint: tf.train.Checkpoint, run_dir: str,
                         stage: int) -> str:
    """Writes the end-of-stage copy into ``stages/stage<k>`` atomically.

    Raises:
        UserError: the write failed (a full disk, permissions); the previous
            snapshot, if any, is left as it was and nothing half-written.
    """
    final = stage_snapshot_dir(run_dir, stage)
    try:
        with staged_directory(final, replace=True) as tmp:
            checkpoint.write(os.path.join(tmp, "ckpt"))
    except _WRITE_ERRORS as e:
        raise UserError(
            f"Could not write the snapshot of stage {stage} in {final}: "
            f"{_reason(e)}. Nothing half-written is left; free disk space "
            f"(or make {run_dir} writable) and rerun the same command: it "
            "resumes from the last checkpoint and writes the snapshot."
        ) from e
    return final


def save_checkpoint(manager: tf.train.CheckpointManager, number: int,
                    run_dir: str) -> str:
    """``manager.save(checkpoint_number=number)``, never losing the last one.

    A failed write (a full disk, permissions) leaves the previous checkpoint
    the latest and loadable and removes what was half-written. Saving again
    under the number of the latest checkpoint (the end of a stage saves at
    the step of its last epoch) first sets that checkpoint aside under
    another name that the state file points to, so no moment exists where
    the latest checkpoint is half-overwritten, killed or not.

    Returns:
        The prefix of the new checkpoint.

    Raises:
        UserError: one line naming the checkpoint directory, why the write
            failed, which checkpoint is kept, and what to do.
    """
    directory = manager.directory
    prefix = os.path.join(directory, f"{CHECKPOINT_NAME}-{int(number)}")
    aside = None
    try:
        if _files(prefix):
            state = tf.train.get_checkpoint_state(directory)
            listed = state is not None and any(
                _same(p, prefix) for p in state.all_model_checkpoint_paths)
            if listed:
                aside = _set_aside(prefix, directory, state)
            else:  # the leftovers of a write that never completed
                _remove(prefix)
        saved = manager.save(checkpoint_number=int(number))
    except _WRITE_ERRORS as e:
        _undo_failed_save(prefix, aside, directory)
        state = tf.train.get_checkpoint_state(directory)
        if state is not None and _exists(state.model_checkpoint_path):
            kept = (f"the previous checkpoint "
                    f"{os.path.basename(state.model_checkpoint_path)} is "
                    "still the latest")
            todo = "rerun the same command to resume from it"
        else:
            kept = "no checkpoint had been saved yet"
            todo = "rerun the same command"
        raise UserError(
            f"Could not save a checkpoint in {directory}: {_reason(e)}. "
            f"Nothing half-written is left and {kept}; free disk space (or "
            f"make --checkpoint_dir={run_dir} writable) and {todo}.") from e
    if aside is not None:
        _remove(aside)
    return saved


def _set_aside(prefix: str, directory: str, state) -> str:
    """Gives checkpoint ``prefix`` a second name and points the state file
    at it, then removes the first name; returns the second one."""
    aside = prefix + ".previous"
    _remove(aside)
    try:
        for path in _checkpoint_files(prefix):
            _link_or_copy(path, aside + path[len(prefix):])
        _point_state(directory, state, prefix, aside)
    except BaseException:
        _remove(aside)
        raise
    _remove(prefix)
    return aside


def _undo_failed_save(prefix: str, aside: Optional[str],
                      directory: str) -> None:
    """After a failed save: removes the half-written ``prefix`` and gives
    the checkpoint set aside its name back (when the save was not recorded;
    if it was, the new checkpoint is complete and stays)."""
    state = tf.train.get_checkpoint_state(directory)
    if state is not None and _same(state.model_checkpoint_path, prefix):
        if aside is not None:
            _remove(aside)
        return
    _remove(prefix)
    if aside is None or state is None or not _exists(aside):
        return
    try:  # each step leaves an intact latest checkpoint behind
        for path in _checkpoint_files(aside):
            _link_or_copy(path, prefix + path[len(aside):])
        _point_state(directory, state, aside, prefix)
    except _WRITE_ERRORS:
        _remove(prefix)  # the state file still names the one set aside
        return
    _remove(aside)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # no hard links here: a copy (which needs the space)
        shutil.copy2(source, target)


def _point_state(directory: str, state, old: str, new: str) -> None:
    """Rewrites the state file (atomically) with ``old`` renamed ``new``."""
    from tensorflow.python.checkpoint import checkpoint_management
    rename = lambda p: new if _same(p, old) else p
    paths = [rename(p) for p in state.all_model_checkpoint_paths]
    checkpoint_management.update_checkpoint_state_internal(
        directory, rename(state.model_checkpoint_path), paths,
        save_relative_paths=True,
        all_model_checkpoint_timestamps=list(
            state.all_model_checkpoint_timestamps) or None,
        last_preserved_timestamp=state.last_preserved_timestamp)
