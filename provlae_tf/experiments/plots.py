"""The grid's figures under ``<out_dir>/plots/``.

- ``<dataset>_<metric>.png``: each model's runs as points (one per seed)
  beside their mean ± sample std;
- ``<dataset>_information_flow.png``: for the progressive models, I(x; z_l)
  per ladder at each stage end (information.json), mean over seeds.

Figures are drawn on matplotlib's ``Figure`` directly (the Agg renderer,
no pyplot state, no display needed) and saved atomically at 100 dpi.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from provlae_tf.experiments.collect import (METRIC_TITLES, METRICS,
                                            RunResult, summarize)
from provlae_tf.experiments.grid import MODELS, Grid
from provlae_tf.fileio import atomic_save

PLOTS_DIR = "plots"
DPI = 100


def plot_all(out_dir: str, grid: Grid, results: Sequence[RunResult]
             ) -> list[str]:
    """Every figure the results allow; returns their paths."""
    folder = os.path.join(out_dir, PLOTS_DIR)
    paths = []
    for dataset in grid.datasets:
        runs = [r for r in results if r.cell.dataset == dataset]
        for metric in METRICS:
            if any(r.row.get(metric) is not None for r in runs):
                paths.append(plot_metric(
                    runs, metric, [m for m in grid.models
                                   if any(r.cell.model == m for r in runs)],
                    os.path.join(folder, f"{dataset}_{metric}.png"),
                    title=f"{dataset}: {METRIC_TITLES[metric]} "
                          f"(budget {grid.budget})"))
        progressive = [m for m in grid.models if MODELS[m].progressive
                       and any(r.cell.model == m and r.flow for r in runs)]
        if progressive:
            paths.append(plot_information_flow(
                runs, progressive,
                os.path.join(folder, f"{dataset}_information_flow.png"),
                title=f"{dataset}: information flow (budget {grid.budget})"))
    return paths


def plot_metric(runs: Sequence[RunResult], metric: str,
                models: Sequence[str], path: str, title: str = "") -> str:
    """One metric per model: the seeds' values and mean ± std beside them."""
    from matplotlib.figure import Figure
    figure = Figure(figsize=(1.2 + 1.1 * len(models), 3.2))
    axes = figure.add_subplot()
    for x, model in enumerate(models):
        values = [r.row[metric] for r in runs
                  if r.cell.model == model and r.row.get(metric) is not None]
        # Seeds spread a little sideways so equal values stay visible.
        offsets = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 \
            else np.zeros(len(values))
        axes.plot(x - 0.1 + offsets, values, "o", color="tab:blue",
                  alpha=0.7, markersize=4,
                  label="seeds" if x == 0 else None)
        summary = summarize(values)
        if summary is not None:
            std = 0.0 if summary.n < 2 else summary.std
            axes.errorbar([x + 0.2], [summary.mean], yerr=[std], fmt="s",
                          color="black", capsize=4, markersize=5,
                          label="mean ± std" if x == 0 else None)
    axes.set_xticks(range(len(models)), models, fontsize=8)
    axes.set_xlim(-0.6, len(models) - 0.4)
    axes.set_ylim(bottom=min(0.0, axes.get_ylim()[0]))  # scores start at 0
    axes.set_ylabel(METRIC_TITLES.get(metric, metric))
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=7, loc="best")
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return _save(figure, path)


def flow_means(runs: Sequence[RunResult], model: str) -> dict:
    """``{stage: [mean I(x; z_l) over seeds, l = 1..L]}`` of a model's runs
    (a stage that not every run recorded is averaged over those that did)."""
    by_stage: dict[int, list] = {}
    for run in runs:
        if run.cell.model == model:
            for stage, values in run.flow.items():
                by_stage.setdefault(stage, []).append(values)
    return {stage: np.mean(np.array(values, dtype=np.float64), axis=0)
            for stage, values in sorted(by_stage.items())}


def plot_information_flow(runs: Sequence[RunResult], models: Sequence[str],
                          path: str, title: str = "") -> str:
    """I(x; z_l) per ladder against the stage end, one panel per model."""
    from matplotlib.figure import Figure
    figure = Figure(figsize=(3.2 * len(models), 3.0))
    panels = figure.subplots(1, len(models), squeeze=False)[0]
    for axes, model in zip(panels, models):
        means = flow_means(runs, model)
        stages = list(means)
        seeds = sum(1 for r in runs if r.cell.model == model and r.flow)
        table = np.array([means[s] for s in stages])
        for ladder in range(table.shape[1] - 1, -1, -1):  # top ladder first
            axes.plot(stages, table[:, ladder], "o-", markersize=4,
                      label=f"ladder {ladder + 1}")
        axes.set_xticks(stages)
        axes.set_xlabel("end of stage")
        axes.set_ylabel("I(x; z_l), nats")
        axes.set_title(f"{model} (mean of {seeds} seed"
                       f"{'s' if seeds != 1 else ''})", fontsize=9)
        axes.legend(fontsize=7)
        axes.grid(alpha=0.3)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return _save(figure, path)


def _save(figure, path: str) -> str:
    return atomic_save(path, lambda temp: figure.savefig(temp, dpi=DPI))
