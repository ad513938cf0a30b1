"""Writing checkpoints so that a failure never costs the last good one.

A full disk, a read-only directory or a kill while saving leaves the
previous checkpoint the latest and loadable, and nothing half-written
behind; the error is one line that says what to do.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Optional

import tensorflow as tf

from provlae_tf.errors import UserError
from provlae_tf.fileio import check_new_directory
from provlae_tf.train.checkpoints import (CHECKPOINT_NAME, WRITE_ERRORS,
                                          checkpoint_and_temp_files,
                                          checkpoint_exists, checkpoint_files,
                                          describe_error, remove_checkpoint,
                                          same_checkpoint, stage_snapshot_dir)


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
            checkpoint.write(os.path.join(tmp, CHECKPOINT_NAME))
    except WRITE_ERRORS as e:
        raise UserError(
            f"Could not write the snapshot of stage {stage} in {final}: "
            f"{describe_error(e)}. Nothing half-written is left; free disk space "
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
        if checkpoint_and_temp_files(prefix):
            state = tf.train.get_checkpoint_state(directory)
            listed = state is not None and any(
                same_checkpoint(p, prefix) for p in state.all_model_checkpoint_paths)
            if listed:
                aside = _set_aside(prefix, directory, state)
            else:  # the leftovers of a write that never completed
                remove_checkpoint(prefix)
        saved = manager.save(checkpoint_number=int(number))
    except WRITE_ERRORS as e:
        _undo_failed_save(prefix, aside, directory)
        state = tf.train.get_checkpoint_state(directory)
        if state is not None and checkpoint_exists(state.model_checkpoint_path):
            kept = (f"the previous checkpoint "
                    f"{os.path.basename(state.model_checkpoint_path)} is "
                    "still the latest")
            todo = "rerun the same command to resume from it"
        else:
            kept = "no checkpoint had been saved yet"
            todo = "rerun the same command"
        raise UserError(
            f"Could not save a checkpoint in {directory}: {describe_error(e)}. "
            f"Nothing half-written is left and {kept}; free disk space (or "
            f"make --checkpoint_dir={run_dir} writable) and {todo}.") from e
    if aside is not None:
        remove_checkpoint(aside)
    return saved


def _set_aside(prefix: str, directory: str, state) -> str:
    """Gives checkpoint ``prefix`` a second name and points the state file
    at it, then removes the first name; returns the second one."""
    aside = prefix + ".previous"
    remove_checkpoint(aside)
    try:
        for path in checkpoint_files(prefix):
            _link_or_copy(path, aside + path[len(prefix):])
        _point_state(directory, state, prefix, aside)
    except BaseException:
        remove_checkpoint(aside)
        raise
    remove_checkpoint(prefix)
    return aside


def _undo_failed_save(prefix: str, aside: Optional[str],
                      directory: str) -> None:
    """After a failed save: removes the half-written ``prefix`` and gives
    the checkpoint set aside its name back (when the save was not recorded;
    if it was, the new checkpoint is complete and stays)."""
    state = tf.train.get_checkpoint_state(directory)
    if state is not None and same_checkpoint(state.model_checkpoint_path, prefix):
        if aside is not None:
            remove_checkpoint(aside)
        return
    remove_checkpoint(prefix)
    if aside is None or state is None or not checkpoint_exists(aside):
        return
    try:  # each step leaves an intact latest checkpoint behind
        for path in checkpoint_files(aside):
            _link_or_copy(path, prefix + path[len(aside):])
        _point_state(directory, state, aside, prefix)
    except WRITE_ERRORS:
        remove_checkpoint(prefix)  # the state file still names the one set aside
        return
    remove_checkpoint(aside)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # no hard links here: a copy (which needs the space)
        shutil.copy2(source, target)


def _point_state(directory: str, state, old: str, new: str) -> None:
    """Rewrites the state file (atomically) with ``old`` renamed ``new``."""
    from tensorflow.python.checkpoint import checkpoint_management
    rename = lambda p: new if same_checkpoint(p, old) else p
    paths = [rename(p) for p in state.all_model_checkpoint_paths]
    checkpoint_management.update_checkpoint_state_internal(
        directory, rename(state.model_checkpoint_path), paths,
        save_relative_paths=True,
        all_model_checkpoint_timestamps=list(
            state.all_model_checkpoint_timestamps) or None,
        last_preserved_timestamp=state.last_preserved_timestamp)
