"""Checks of flag values, so that bad input is one clear line before
anything loads or is written (used by :mod:`provlae_tf.config`)."""

from __future__ import annotations

import math
import os
from typing import Any, Mapping

from provlae_tf.constants import (GRID_IMAGES, MAX_Z_DIM,
                                  RUN_DIRECTORY_ENTRIES)
from provlae_tf.errors import UserError

# Flags whose value must be a positive number, and those that may be 0.
_POSITIVE = ("z_dim", "batch_size", "epoch_size", "learning_rate",
             "log_every", "max_to_keep", "mig_samples", "factor_train_votes",
             "factor_eval_votes", "factor_batch", "factor_variance_samples",
             "histogram_samples", "histogram_bins", "info_samples",
             "adam_epsilon", "bn_epsilon")
_AT_LEAST_ZERO = {"fade_in_duration": "an integer >= 0",
                  "max_examples": "0 (all) or a positive integer",
                  "eval_images": "0 (all) or a positive integer",
                  "traverse_image": "a dataset index >= 0",
                  "info_images": "0 (off) or a positive number of images",
                  "beta": "a KL weight >= 0", "coff": "a KL weight >= 0",
                  "factor_prune_std": "a standard deviation >= 0",
                  "cpu_devices": "0 (off) or a number of logical CPU devices"}
# More logical CPU devices than this only slows a run down.
MAX_CPU_DEVICES = 64


def validate(values: Mapping[str, Any]) -> None:
    """Refuses flag values no run can use, before anything loads.

    Args:
        values: ``{flag name: value}`` for every flag.

    Raises:
        UserError: one line naming the flag and what was expected.
    """
    for name, value in values.items():
        if isinstance(value, float):
            _require(math.isfinite(value), name, value, "a finite number")
    for name in _POSITIVE:
        kind = "integer" if isinstance(values[name], int) else "number"
        _require(values[name] > 0, name, values[name], f"a positive {kind}")
    for name, expected in _AT_LEAST_ZERO.items():
        _require(values[name] >= 0, name, values[name], expected)
    for name in ("adam_beta1", "adam_beta2"):
        _require(0 <= values[name] < 1, name, values[name],
                 "a decay rate in [0, 1)")
    _require(0 < values["gpu_usage"] <= 1, "gpu_usage", values["gpu_usage"],
             "a fraction in (0, 1]")
    # NumPy's and Keras' seeds are 32-bit.
    _require(0 <= values["seed"] < 2 ** 32, "seed", values["seed"],
             "an integer in [0, 2**32)")
    _require(values["z_dim"] <= MAX_Z_DIM, "z_dim", values["z_dim"],
             f"at most {MAX_Z_DIM} latents per ladder")
    _require(values["cpu_devices"] <= MAX_CPU_DEVICES, "cpu_devices",
             values["cpu_devices"], f"at most {MAX_CPU_DEVICES} logical "
             "devices")
    _check_sizes(values)
    _check_log_file(values["log_file"])


def _check_sizes(values: Mapping[str, Any]) -> None:
    """Subset and batch sizes that the dataset cannot have, refused before
    anything loads (datasets of a fixed size only; the others are checked
    once their files are read)."""
    total = GRID_IMAGES.get(values["dataset"])
    if total is not None:
        _require(values["max_examples"] <= total, "max_examples",
                 values["max_examples"],
                 f"at most the {total} images of {values['dataset']}")
    available = values["max_examples"] or total
    if available:
        _require(values["batch_size"] <= available, "batch_size",
                 values["batch_size"], f"at most the {available} training "
                 "images (--max_examples, else the dataset)")


def _require(ok: bool, flag: str, value, expected: str) -> None:
    if not ok:
        raise UserError(f"--{flag}={value}: expected {expected}.")


def parse_train_seq(value: str, num_ladders: int) -> str:
    """``"all"`` or the stage ``"1"``..``"L"`` of ``--train_seq``."""
    if value == "all":
        return value
    if value.isdigit() and 1 <= int(value) <= num_ladders:
        return str(int(value))
    raise UserError(f"--train_seq={value}: expected 'all' or a stage 1.."
                    f"{num_ladders} (this model has {num_ladders} ladders).")


def parse_clip(values) -> tuple[float, float]:
    """``(low, high)`` of ``--log_var_clip``."""
    try:
        low, high = (float(v) for v in values)
    except (TypeError, ValueError):
        low = high = None
    if low is None or not low < high:
        raise UserError(f"--log_var_clip={','.join(map(str, values))}: "
                        "expected two numbers low,high with low < high, e.g. "
                        "-100,3.")
    return (low, high)


# Reference: docs/original.md#output-layout
def _check_log_file(log_file: str) -> None:
    if (not log_file or log_file.endswith(os.sep) or os.path.isabs(log_file)
            or os.pardir in log_file.split(os.sep)):
        raise UserError(f"--log_file={log_file}: expected a file name inside "
                        "--checkpoint_dir (everything a run writes stays "
                        "there).")
    if log_file.split(os.sep)[0] in RUN_DIRECTORY_ENTRIES:
        raise UserError(f"--log_file={log_file}: the run directory keeps its "
                        f"{log_file.split(os.sep)[0]} there; expected another"
                        " name, e.g. train.log.")
