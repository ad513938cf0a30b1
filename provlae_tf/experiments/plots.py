"""The grid's figures under ``<out_dir>/plots/``, from the rows alone.

- ``<dataset>_<metric>.png``: each model's runs as points (one per seed)
  beside their mean and its 95 % bootstrap CI
  (:mod:`~provlae_tf.experiments.statistics`);
- ``<dataset>_information_flow.png``: I(x; z_l) per ladder at each stage end
  (information.json), the mean over seeds as lines and each seed as faint
  points, one panel per model with ladders: the progressive ones per stage,
  the VLAE (one stage) at its end.

The median seed's MI matrix and traversals:
:mod:`~provlae_tf.experiments.run_figures`. Figures are drawn on
matplotlib's ``Figure`` directly (the Agg renderer, no pyplot state, no
display needed) and saved atomically at 100 dpi.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from provlae_tf.experiments.collect import (METRIC_TITLES, METRICS,
                                            RunResult)
from provlae_tf.experiments.grid import MODELS, Grid
from provlae_tf.experiments.statistics import summarize
from provlae_tf.fileio import atomic_save

PLOTS_DIR = "plots"
DPI = 100


def plot_all(out_dir: str, grid: Grid, results: Sequence[RunResult]
             ) -> list[str]:
    """Every metric and information-flow figure the results allow; returns
    their paths."""
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
        flowing = [m for m in grid.models if flow_model(m)
                   and any(r.cell.model == m and r.flow for r in runs)]
        if flowing:
            paths.append(plot_information_flow(
                runs, flowing,
                os.path.join(folder, f"{dataset}_information_flow.png"),
                title=f"{dataset}: information flow (budget {grid.budget})"))
    return paths


def flow_model(model: str) -> bool:
    """Whether a model's information flow is drawn: the progressive ones
    and the VLAE (the beta-VAE has one ladder, no flow between ladders)."""
    return MODELS[model].progressive or MODELS[model].kind == "vlae"


def plot_metric(runs: Sequence[RunResult], metric: str,
                models: Sequence[str], path: str, title: str = "") -> str:
    """One metric per model: the seeds' values, and beside them the mean
    with its 95 % CI (no bar for one run)."""
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
            error = None
            if summary.n > 1:
                error = [[summary.mean - summary.ci_low],
                         [summary.ci_high - summary.mean]]
            axes.errorbar([x + 0.2], [summary.mean], yerr=error, fmt="s",
                          color="black", capsize=4, markersize=5,
                          label="mean, 95 % CI" if x == 0 else None)
    axes.set_xticks(range(len(models)), models, fontsize=8)
    axes.set_xlim(-0.6, len(models) - 0.4)
    axes.set_ylim(bottom=min(0.0, axes.get_ylim()[0]))  # scores start at 0
    axes.set_ylabel(METRIC_TITLES.get(metric, metric))
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=7, loc="best")
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return _save(figure, path)


def flow_table(runs: Sequence[RunResult], model: str) -> dict:
    """``{stage: (seeds, L) array of I(x; z_l)}`` of a model's runs, one
    row per run that recorded the stage."""
    by_stage: dict[int, list] = {}
    for run in runs:
        if run.cell.model == model:
            for stage, values in run.flow.items():
                by_stage.setdefault(stage, []).append(values)
    return {stage: np.array(values, dtype=np.float64)
            for stage, values in sorted(by_stage.items())}


def flow_means(runs: Sequence[RunResult], model: str) -> dict:
    """``{stage: [mean I(x; z_l) over seeds, l = 1..L]}`` of a model's runs
    (a stage that not every run recorded is averaged over those that did)."""
    return {stage: table.mean(axis=0)
            for stage, table in flow_table(runs, model).items()}


def plot_information_flow(runs: Sequence[RunResult], models: Sequence[str],
                          path: str, title: str = "") -> str:
    """I(x; z_l) per ladder against the stage end, one panel per model
    (shared axes): the mean over seeds joined by lines, each seed a faint
    point."""
    from matplotlib.figure import Figure
    figure = Figure(figsize=(3.2 * len(models), 3.0))
    panels = figure.subplots(1, len(models), squeeze=False, sharey=True)[0]
    colours = [f"C{i}" for i in range(10)]
    for axes, model in zip(panels, models):
        tables = flow_table(runs, model)
        stages = list(tables)
        seeds = sum(1 for r in runs if r.cell.model == model and r.flow)
        ladders = max(t.shape[1] for t in tables.values())
        for ladder in range(ladders - 1, -1, -1):  # top ladder first
            colour = colours[ladder % len(colours)]
            for stage in stages:
                values = tables[stage][:, ladder]
                axes.plot(np.full(values.shape, stage), values, ".",
                          color=colour, alpha=0.35, markersize=5)
            axes.plot(stages, [tables[s][:, ladder].mean() for s in stages],
                      "o-", color=colour, markersize=4,
                      label=f"ladder {ladder + 1}")
        axes.set_xticks(stages)
        axes.set_xlim(0.5, max(stages) + 0.5)
        axes.set_xlabel("end of stage")
        axes.set_ylabel("I(x; z_l), nats")
        one_stage = "" if MODELS[model].progressive else ", one stage"
        axes.set_title(f"{model} (mean and {seeds} seed"
                       f"{'s' if seeds != 1 else ''}{one_stage})", fontsize=9)
        axes.legend(fontsize=7)
        axes.grid(alpha=0.3)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return _save(figure, path)


def _save(figure, path: str) -> str:
    return atomic_save(path, lambda temp: figure.savefig(temp, dpi=DPI))
