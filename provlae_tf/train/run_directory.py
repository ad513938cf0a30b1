"""The rules of a run directory: config.json, and what may continue it
(the directory's layout: :mod:`provlae_tf.run_files`)."""

from __future__ import annotations

import json
import os
import time
from typing import Optional

import tensorflow as tf

from provlae_tf import run_files
from provlae_tf.config import RunConfig, load_run_config
from provlae_tf.errors import UserError
from provlae_tf.fileio import (atomic_write_text, check_writable_directory,
                               describe_os_error)


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


def cpu_kernels() -> str:
    """The CPU kernels this process's TensorFlow runs: "oneDNN" or "Eigen".

    They round differently (docs/speed.md), so a run records which ran.
    TensorFlow tells it only through an internal module; "unknown" if that
    module moves.
    """
    try:
        from tensorflow.python.util import _pywrap_util_port
        return "oneDNN" if _pywrap_util_port.IsMklEnabled() else "Eigen"
    except (ImportError, AttributeError):
        return "unknown"


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
    atomic_write_text(run_files.path(run_dir, run_files.CONFIG),
                      config.to_json())
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "train_seq": config.train.train_seq, "changed": changes,
              "tensorflow": tf.__version__, "cpu_kernels": cpu_kernels()}
    path = run_files.path(run_dir, run_files.INVOCATIONS)
    try:
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")
    except OSError as e:
        raise UserError(f"{path}: cannot write it ({describe_os_error(e)}). "
                        "Free disk space or fix the permissions of "
                        f"--checkpoint_dir={run_dir}, then rerun.") from e
    return changes
