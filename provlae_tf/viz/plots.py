"""Charts of training and of the information in each ladder (PNG files).

Figures are drawn on matplotlib's Agg canvas directly (no ``pyplot``), so
importing this module never changes the user's matplotlib backend and works
without a display.
"""

from __future__ import annotations

import glob
import os
from typing import Mapping, NamedTuple, Optional, Sequence

import numpy as np
import tensorflow as tf
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from provlae_tf import run_files
from provlae_tf.fileio import atomic_save
from provlae_tf.viz.tensorboard import read_events

RECONSTRUCTION_TAG = run_files.TAG_RECONSTRUCTION
KL_TAG_PREFIX = run_files.TAG_KL_LADDER
ALPHA_TAG = run_files.TAG_ALPHA
STAGE_TAG = run_files.TAG_STAGE


class TrainingRecord(NamedTuple):
    """The logged losses at one training step (NaN where not logged)."""

    step: int
    stage: int
    reconstruction: float
    kl: tuple  # per ladder 1..L
    alpha: float


def _save(fig: Figure, path: str) -> str:
    FigureCanvasAgg(fig)
    return atomic_save(
        path, lambda temp: fig.savefig(temp, format="png", dpi=100))


def _scalar(value) -> float:
    # TF2 summaries store a tensor; TF1 ones a simple_value.
    if value.WhichOneof("value") == "tensor":
        return float(tf.make_ndarray(value.tensor))
    return float(value.simple_value)


def read_training_records(log_dir: str) -> list[TrainingRecord]:
    """Reads the trainer's scalars from every event file under ``log_dir``.

    Files are read in name order (their names start with a timestamp) and a
    later value for the same step replaces an earlier one, so a resumed run
    shows the steps it redid once.

    Returns:
        Records sorted by step.
    """
    pattern = os.path.join(log_dir, "**", "events.out.tfevents.*")
    by_step: dict[int, dict[str, float]] = {}
    for path in sorted(glob.glob(pattern, recursive=True)):
        for event in read_events(path):
            for value in event.summary.value:
                if (value.tag in (RECONSTRUCTION_TAG, ALPHA_TAG, STAGE_TAG)
                        or value.tag.startswith(KL_TAG_PREFIX)):
                    by_step.setdefault(event.step, {})[value.tag] = (
                        _scalar(value))
    ladders = sorted({int(tag[len(KL_TAG_PREFIX):])
                      for tags in by_step.values() for tag in tags
                      if tag.startswith(KL_TAG_PREFIX)})
    records = []
    for step in sorted(by_step):
        tags = by_step[step]
        stage = tags.get(STAGE_TAG, np.nan)
        records.append(TrainingRecord(
            int(step), int(stage) if np.isfinite(stage) else 0,
            tags.get(RECONSTRUCTION_TAG, np.nan),
            tuple(tags.get(f"{KL_TAG_PREFIX}{l}", np.nan) for l in ladders),
            tags.get(ALPHA_TAG, np.nan)))
    return records


def _stage_starts(steps: np.ndarray, stages: np.ndarray) -> list:
    """``[(step, stage)]`` where each stage after the first begins."""
    change = np.nonzero(np.diff(stages) != 0)[0] + 1
    return [(steps[i], int(stages[i])) for i in change]


def plot_training_curves(records: Sequence[TrainingRecord], path: str,
                         title: Optional[str] = None) -> str:
    """Reconstruction, KL per ladder and alpha against the step.

    Dashed vertical lines mark where each stage begins.

    Returns:
        ``path`` (a PNG).
    """
    if not records:
        raise ValueError("no training records to plot")
    steps = np.array([r.step for r in records])
    stages = np.array([r.stage for r in records])
    kl = np.array([r.kl for r in records], np.float64).reshape(
        len(records), -1)
    fig = Figure(figsize=(8, 8))
    axes = fig.subplots(3, 1, sharex=True)
    axes[0].plot(steps, [r.reconstruction for r in records], color="black")
    axes[0].set_ylabel("reconstruction")
    for ladder in range(kl.shape[1]):
        axes[1].plot(steps, kl[:, ladder], label=f"ladder {ladder + 1}")
    axes[1].set_ylabel("KL (nats)")
    if kl.shape[1]:
        axes[1].legend(loc="best", fontsize="small")
    axes[2].plot(steps, [r.alpha for r in records], color="tab:purple")
    axes[2].set_ylabel("fade-in alpha")
    axes[2].set_ylim(-0.05, 1.05)
    axes[2].set_xlabel("step")
    for step, stage in _stage_starts(steps, stages):
        for ax in axes:
            ax.axvline(step, color="grey", linestyle="--", linewidth=1)
        axes[0].annotate(f"stage {stage}", (step, 1), xycoords=(
            "data", "axes fraction"), xytext=(3, -12),
            textcoords="offset points", fontsize="small")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.suptitle(title or "Training")
    fig.tight_layout()
    return _save(fig, path)


def _grouped_bars(ax, values: Mapping[int, Sequence[float]], ylabel: str):
    stages = sorted(values)
    table = np.array([values[s] for s in stages], np.float64)
    width = 0.8 / table.shape[1]
    x = np.arange(len(stages))
    for ladder in range(table.shape[1]):
        ax.bar(x + (ladder - (table.shape[1] - 1) / 2) * width,
               table[:, ladder], width, label=f"ladder {ladder + 1}")
    ax.set_xticks(x, [f"stage {s}" for s in stages])
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)


def plot_information_flow(kl: Mapping[int, Sequence[float]], path: str,
                          mutual_information: Optional[
                              Mapping[int, Sequence[float]]] = None,
                          title: Optional[str] = None) -> str:
    """Grouped bars per stage: KL per ladder and, if given, I(x; z_l).

    Args:
        kl: ``{stage: [KL of ladder 1..L]}`` at the end of each stage.
        path: the PNG to write.
        mutual_information: ``{stage: [I(x; z_l) for l = 1..L]}``.
        title: figure title.
    """
    panels = [(kl, "KL(q(z_l|x) || p(z_l)) (nats)")]
    if mutual_information:
        panels.append((mutual_information, "I(x; z_l) (nats)"))
    fig = Figure(figsize=(8, 3.5 * len(panels)))
    axes = np.atleast_1d(fig.subplots(len(panels), 1))
    for ax, (values, label) in zip(axes, panels):
        _grouped_bars(ax, values, label)
    fig.suptitle(title or "Information per ladder at the end of each stage")
    fig.tight_layout()
    return _save(fig, path)


def plot_mi_matrix(matrix: np.ndarray, factor_names: Sequence[str],
                   z_dim: int, num_ladders: int, path: str,
                   title: Optional[str] = None) -> str:
    """Heatmap of normalised mutual information, factors x latents.

    Args:
        matrix: ``(num_factors, num_ladders * z_dim)``; the columns are the
            latents of ladder 1 first (the order the ladders are
            concatenated in for the metrics).
        factor_names: one name per row.
        z_dim: latents per ladder.
        num_ladders: L.
        path: the PNG to write.
        title: figure title.
    """
    matrix = np.asarray(matrix, np.float64)
    if matrix.shape != (len(factor_names), num_ladders * z_dim):
        raise ValueError(f"matrix shape {matrix.shape} does not match "
                         f"{len(factor_names)} factors x {num_ladders} ladders"
                         f" x {z_dim} latents")
    k = matrix.shape[1]
    fig = Figure(figsize=(max(5.0, 0.45 * k + 2.5),
                          max(2.5, 0.5 * len(factor_names) + 1.5)))
    ax = fig.subplots()
    shown = ax.imshow(matrix, cmap="viridis", aspect="auto", vmin=0.0,
                      vmax=max(1.0, float(np.nanmax(matrix))))
    fig.colorbar(shown, ax=ax, label="normalised MI")
    ax.set_xticks(range(k), [f"L{j // z_dim + 1} z{j % z_dim}"
                             for j in range(k)], rotation=90,
                  fontsize="small")
    ax.set_yticks(range(len(factor_names)), list(factor_names))
    for boundary in range(1, num_ladders):
        ax.axvline(boundary * z_dim - 0.5, color="white", linewidth=2)
    if matrix.size <= 400:  # values stay legible only on small matrices
        for (row, col), value in np.ndenumerate(matrix):
            ax.text(col, row, f"{value:.2f}", ha="center", va="center",
                    fontsize=6, color="white" if value < 0.5 else "black")
    ax.set_xlabel("latent (ladder 1 = bottom)")
    ax.set_title(title or "Normalised mutual information")
    fig.tight_layout()
    return _save(fig, path)
