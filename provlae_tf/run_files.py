"""A run directory's files: their names, TensorBoard tags, and JSON records.

The one description of a run directory (``--checkpoint_dir``); every module
that writes or reads one of its files names it through here. No TensorFlow:
the experiment runner and other tools read runs without loading it::

    config.json            the RunConfig of the latest invocation
    invocations.jsonl      one line per invocation (when, what changed, with
                           which TensorFlow and CPU kernels)
    training.json          per stage: training seconds, images and steps
    ckpt/ckpt-<step>.*     rolling checkpoints (model, optimizer, state)
    stages/stage<k>/ckpt.* a snapshot written when stage k finished
    tensorboard/           event files: the scalars of TAGS every --log_every
                           steps, the stage-end images (stage_end/<name>)
    images/                stage-end pictures (stage<k>_*.png, stage<k>/,
                           all_z_step<k>.gif), training_curves.png,
                           information_flow.png, stage<k>_mi_matrix.png
    information.json       KL and I(x; z_l) per ladder at every stage end
    visualize/<name>/      the outputs of --mode=2 (summary.json, images)
    metrics.json           the output of --mode=3
    train.log              the text log (--log_file; any name but these)
"""

from __future__ import annotations

import os
from typing import Any, Optional

from provlae_tf.errors import TrainingDiverged
from provlae_tf.fileio import load_json, save_json

CONFIG = "config.json"
INVOCATIONS = "invocations.jsonl"
TRAINING = "training.json"
CHECKPOINTS = "ckpt"
STAGES = "stages"
TENSORBOARD = "tensorboard"
IMAGES = "images"
INFORMATION = "information.json"
VISUALIZE = "visualize"
METRICS = "metrics.json"
# In visualize/<name>/.
SUMMARY = "summary.json"
# Reference: docs/original.md#output-layout
# What a run directory holds besides --log_file (which must not be one).
ENTRIES = (CONFIG, INVOCATIONS, TRAINING, CHECKPOINTS, STAGES, TENSORBOARD,
           IMAGES, INFORMATION, VISUALIZE, METRICS)

# --log_file's default.
DEFAULT_LOG = "train.log"
# How the trainer logs the error that stopped a diverged run (its
# "<class name>: <message>" line for every UserError).
DIVERGED = f"{TrainingDiverged.__name__}: "

# TensorBoard scalars, written every --log_every steps.
TAG_RECONSTRUCTION = "loss/reconstruction"
TAG_KL_TOTAL = "loss/kl_total"
TAG_KL_LADDER = "kl/ladder"  # + the ladder number, 1..L
TAG_ALPHA = "schedule/alpha"
TAG_STAGE = "schedule/stage"
TAG_STAGE_END = "stage_end/"  # + the image's name


def path(run_dir: str, *parts: str) -> str:
    """A path inside the run directory."""
    return os.path.join(run_dir, *parts)


def stage_snapshot_dir(run_dir: str, stage: int) -> str:
    """Where the snapshot of finished stage ``stage`` lives."""
    return os.path.join(run_dir, STAGES, f"stage{stage}")


def read(run_dir: str, name: str) -> Optional[Any]:
    """The JSON file ``name`` of the run directory, or None when absent."""
    file = path(run_dir, name)
    return load_json(file) if os.path.exists(file) else None


def divergence(run_dir: str, log_file: str = DEFAULT_LOG) -> Optional[str]:
    """The error that stopped the run, when its log ends with a divergence
    ("The loss became nan at ..."); None otherwise."""
    try:
        with open(path(run_dir, log_file), errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        return None
    last = lines[-1] if lines else ""
    at = last.find(DIVERGED)
    return last[at + len(DIVERGED):] if at >= 0 else None


def read_metrics(run_dir: str) -> Optional[dict]:
    """``metrics.json`` (the output of --mode=3), or None."""
    return read(run_dir, METRICS)


def write_metrics(run_dir: str, result: dict) -> str:
    """Writes ``metrics.json`` atomically; returns its path."""
    return save_json(path(run_dir, METRICS), result)


def read_information(run_dir: str) -> dict[int, dict]:
    """``information.json``: ``{stage: {"kl": [...], "information": [...],
    ...}}`` of every finished stage ({} when none)."""
    saved = read(run_dir, INFORMATION)
    if not saved:
        return {}
    return {int(stage): record for stage, record in saved["stages"].items()}


def write_information(run_dir: str, records: dict[int, dict]) -> str:
    """Writes ``information.json`` (every stage's record) atomically."""
    return save_json(path(run_dir, INFORMATION), {"stages": {
        str(stage): record for stage, record in sorted(records.items())}})


def read_training(run_dir: str) -> dict[int, dict]:
    """``training.json``: ``{stage: {"seconds", "images", "steps"}}`` of the
    training done so far ({} when none)."""
    saved = read(run_dir, TRAINING)
    if not saved:
        return {}
    return {int(stage): record for stage, record in saved["stages"].items()}


def record_training(run_dir: str, stage: int, seconds: float, images: int,
                    steps: int) -> dict[int, dict]:
    """Adds training time and work to ``stage``'s record in training.json.

    Returns:
        Every stage's record after the addition.
    """
    records = read_training(run_dir)
    record = records.setdefault(stage, {"seconds": 0.0, "images": 0,
                                        "steps": 0})
    record["seconds"] = float(record["seconds"]) + float(seconds)
    record["images"] = int(record["images"]) + int(images)
    record["steps"] = int(record["steps"]) + int(steps)
    save_json(path(run_dir, TRAINING), {
        "stages": {str(s): r for s, r in sorted(records.items())},
        "seconds": sum(float(r["seconds"]) for r in records.values()),
        "images": sum(int(r["images"]) for r in records.values())})
    return records


def training_totals(run_dir: str) -> tuple[Optional[float], Optional[int]]:
    """Training seconds and images of the whole run (None, None when the
    run has no training.json)."""
    records = read_training(run_dir)
    if not records:
        return None, None
    return (sum(float(r["seconds"]) for r in records.values()),
            sum(int(r["images"]) for r in records.values()))
