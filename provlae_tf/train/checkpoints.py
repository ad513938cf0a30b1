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
from provlae_tf.fileio import atomic_write_text


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


def training_checkpoint(model, optimizer, state) -> tf.train.Checkpoint:
    """The object graph of every provlae_tf checkpoint."""
    return tf.train.Checkpoint(model=model, optimizer=optimizer, state=state)


def checkpoint_prefix_dir(run_dir: str) -> str:
    return os.path.join(run_dir, "ckpt")


def stage_snapshot_dir(run_dir: str, stage: int) -> str:
    return os.path.join(run_dir, "stages", f"stage{stage}")


def read_completed_stages(run_dir: str) -> Optional[int]:
    """Finished stages recorded in the latest checkpoint (None if none); no writes."""
    latest = tf.train.latest_checkpoint(checkpoint_prefix_dir(run_dir))
    if latest is None:
        return None
    reader = tf.train.load_checkpoint(latest)
    return int(reader.get_tensor(
        "state/completed_stages/.ATTRIBUTES/VARIABLE_VALUE"))


def read_stage(prefix: str) -> int:
    """The stage recorded in a checkpoint (``prefix`` as tf.train names it)."""
    reader = tf.train.load_checkpoint(prefix)
    return int(reader.get_tensor("state/stage/.ATTRIBUTES/VARIABLE_VALUE"))


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


def check_run_directory(config: RunConfig) -> Optional[RunConfig]:
    """Refuses a directory that holds something else; never writes.

    Returns:
        The saved config of the run being continued, or None for a new run.

    Raises:
        UserError: the directory holds another model, or is not a run.
    """
    run_dir = config.checkpoint_dir
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise UserError(f"--checkpoint_dir={run_dir} is a file; expected a "
                        "directory.")
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


def write_config(config: RunConfig, previous: Optional[RunConfig]) -> list[str]:
    """Writes config.json atomically and logs the invocation.

    Returns:
        Human-readable training-flag changes against ``previous``.
    """
    run_dir = config.checkpoint_dir
    os.makedirs(run_dir, exist_ok=True)
    changes = []
    if previous is not None:
        old, new = previous.train.__dict__, config.train.__dict__
        changes = [f"{k}: {old[k]!r} -> {new[k]!r}" for k in new
                   if old.get(k) != new[k] and k != "train_seq"]
    atomic_write_text(os.path.join(run_dir, "config.json"), config.to_json())
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "train_seq": config.train.train_seq, "changed": changes}
    with open(os.path.join(run_dir, "invocations.jsonl"), "a") as f:
        f.write(json.dumps(record) + "\n")
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
    if not replace and os.path.exists(out_dir) and os.listdir(out_dir):
        raise UserError(f"{out_dir}: exists and is not empty; choose a new "
                        "output directory.")
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


def write_stage_snapshot(checkpoint: tf.train.Checkpoint, run_dir: str,
                         stage: int) -> str:
    """Writes the end-of-stage copy into ``stages/stage<k>`` atomically."""
    final = stage_snapshot_dir(run_dir, stage)
    with staged_directory(final, replace=True) as tmp:
        checkpoint.write(os.path.join(tmp, "ckpt"))
    return final
