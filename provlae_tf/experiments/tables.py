"""results.csv (one row per finished run) and results.md (mean ± std over
seeds per dataset and model, the budget, the commands, what is missing)."""

from __future__ import annotations

import csv
import io
import math
import os
from typing import Optional, Sequence

from provlae_tf.experiments.collect import (METRIC_TITLES, METRICS, Missing,
                                            RunResult, Summary, aggregate,
                                            columns)
from provlae_tf.experiments.grid import BUDGETS, MODELS, Grid, flag_value
from provlae_tf.fileio import atomic_write_text

CSV_FILE = "results.csv"
MARKDOWN_FILE = "results.md"
# results.md's columns: the metrics, then the KL summed over ladders.
_TABLE_COLUMNS = (*METRICS, "kl")
_TABLE_TITLES = {**METRIC_TITLES, "kl": "KL (nats)"}


def csv_text(results: Sequence[RunResult]) -> str:
    """The rows as CSV: a header, then one line per run; empty = none."""
    names = columns(results)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for result in results:
        writer.writerow([_csv_value(result.row.get(name)) for name in names])
    return out.getvalue()


def _csv_value(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def format_summary(summary: Optional[Summary], digits: int = 3) -> str:
    """``mean ± std (n=k)``; ``mean (n=1)`` for one run; ``–`` for none."""
    if summary is None:
        return "–"
    if summary.n == 1:
        return f"{summary.mean:.{digits}f} (n=1)"
    return f"{summary.mean:.{digits}f} ± {summary.std:.{digits}f} " \
           f"(n={summary.n})"


def markdown_text(grid: Grid, results: Sequence[RunResult],
                  missing: Sequence[Missing], commands: Sequence[str]) -> str:
    """results.md: per dataset a model x metric table, what is missing
    under it, then the budget, the seeds, the models and the commands."""
    budget = BUDGETS[grid.budget]
    summaries = aggregate(results, _TABLE_COLUMNS)
    lines = [f"# Results: budget `{grid.budget}`", "",
             "Mean ± sample standard deviation (ddof = 1) over seeds, and n, "
             "the runs that have the number. MIG and MIG-sup: the "
             "original's estimator; factor metric: Kim & Mnih; "
             "mig_histogram: disentanglement_lib's MIG; all on every "
             "ladder together, at the last stage (per ladder: results.csv). "
             "The published column is left empty: no number is typed from "
             "memory.", ""]
    for dataset in grid.datasets:
        lines += [f"## {dataset}", "",
                  "| model | " + " | ".join(_TABLE_TITLES[c]
                                            for c in _TABLE_COLUMNS)
                  + " | published |",
                  "|---" * (len(_TABLE_COLUMNS) + 2) + "|"]
        for model in grid.models:
            stats = summaries.get((dataset, model))
            if stats is None:
                continue
            lines.append(f"| {model} | " + " | ".join(
                format_summary(stats[c]) for c in _TABLE_COLUMNS) + " |  |")
        if not any((dataset, m) in summaries for m in grid.models):
            lines.append("| (no finished run) |" + " |" *
                         (len(_TABLE_COLUMNS) + 1))
        gaps = [m for m in missing if m.cell.dataset == dataset]
        lines.append("")
        if gaps:
            lines.append(f"Missing ({len(gaps)} of "
                         f"{len(grid.models) * len(grid.seeds)} runs, not in "
                         "the table):")
            lines += [f"- {m.cell.name}: {m.reason}" for m in gaps]
        else:
            lines.append(f"All {len(grid.models) * len(grid.seeds)} runs "
                         "finished.")
        lines.append("")
    flags = " ".join(f"--{name}={flag_value(value)}"
                     for name, value in budget.flags) or "(none)"
    lines += ["## Budget, seeds, models", "",
              f"- budget `{budget.name}`: {budget.description}; flags: "
              f"`{flags}`",
              f"- seeds: {', '.join(map(str, grid.seeds))}",
              *[f"- `{m}`: {MODELS[m].description}" for m in grid.models],
              f"- run directories: `{grid.out_dir}/<dataset>/<model>/"
              "seed<k>`", "",
              "## Commands", "",
              "One line per run (training, then `--mode=3`), as "
              "`python -m provlae_tf.experiments --list` prints them:", "",
              "```bash", *commands, "```", ""]
    return "\n".join(lines)


def write_tables(out_dir: str, grid: Grid, results: Sequence[RunResult],
                 missing: Sequence[Missing], commands: Sequence[str]
                 ) -> list[str]:
    """Writes results.csv and results.md into ``out_dir``; their paths."""
    return [atomic_write_text(os.path.join(out_dir, CSV_FILE),
                              csv_text(results)),
            atomic_write_text(os.path.join(out_dir, MARKDOWN_FILE),
                              markdown_text(grid, results, missing,
                                            commands))]
