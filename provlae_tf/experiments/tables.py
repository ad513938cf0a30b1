"""The grid's tables: results.csv (one row per finished run), summary.csv
(the statistics over seeds, one row per dataset x model x metric) and
results.md (:mod:`~provlae_tf.experiments.markdown`)."""

from __future__ import annotations

import csv
import io
import math
import os
from typing import Sequence

from provlae_tf.experiments import ladders, markdown
from provlae_tf.experiments.collect import (Missing, RunResult, columns,
                                            measured_columns)
from provlae_tf.experiments.grid import REFERENCE_MODEL, Grid
from provlae_tf.experiments.statistics import SummaryRow, summary_rows
from provlae_tf.fileio import atomic_write_text

CSV_FILE = "results.csv"
SUMMARY_FILE = "summary.csv"
MARKDOWN_FILE = "results.md"
SUMMARY_COLUMNS = ("dataset", "model", "budget", "metric", "mean", "std",
                   "n", "ci_low", "ci_high", "p_welch", "p_mannwhitney",
                   "cohens_d", "rank_biserial", "welch_t", "welch_df",
                   "mannwhitney_u")


def csv_text(results: Sequence[RunResult]) -> str:
    """The rows as CSV: a header, then one line per run; empty = none."""
    names = columns(results)
    return _csv(names, ([result.row.get(name) for name in names]
                        for result in results))


def summarize_results(results: Sequence[RunResult]) -> list[SummaryRow]:
    """The statistics of every measured column, per dataset and model, the
    models compared with pro-VLAE (:func:`~provlae_tf.experiments.
    statistics.summary_rows`)."""
    return summary_rows([r.row for r in results], measured_columns(results),
                        reference=REFERENCE_MODEL)


def summary_csv_text(grid: Grid, rows: Sequence[SummaryRow]) -> str:
    """summary.csv: :data:`SUMMARY_COLUMNS`, empty where a number is
    undefined (n = 1) or not applicable (pro-VLAE's own tests)."""
    lines = []
    for row in rows:
        s, c = row.summary, row.comparison
        tests = ([c.p_welch, c.p_mannwhitney, c.cohens_d, c.rank_biserial,
                  c.t, c.df, c.u] if c is not None else [None] * 7)
        lines.append([row.dataset, row.model, grid.budget, row.metric,
                      s.mean, s.std, s.n, s.ci_low, s.ci_high, *tests])
    return _csv(SUMMARY_COLUMNS, lines)


def write_tables(out_dir: str, grid: Grid, results: Sequence[RunResult],
                 missing: Sequence[Missing], commands: Sequence[str],
                 descriptions: dict, notes: Sequence[str] = ()
                 ) -> list[str]:
    """Writes results.csv, summary.csv and results.md into ``out_dir``;
    returns their paths.

    Args:
        descriptions: ``{dataset: what its cells train and measure}``
            (:func:`~provlae_tf.experiments.budgets.describe_run`).
        notes: the figures that could not be drawn, and why.
    """
    summaries = summarize_results(results)
    held = ladders.factor_ladders(results)
    return [
        atomic_write_text(os.path.join(out_dir, CSV_FILE),
                          csv_text(results)),
        atomic_write_text(os.path.join(out_dir, SUMMARY_FILE),
                          summary_csv_text(grid, summaries)),
        atomic_write_text(os.path.join(out_dir, MARKDOWN_FILE),
                          markdown.markdown_text(grid, summaries, missing,
                                                 commands, descriptions,
                                                 notes, held))]


def _csv(header: Sequence[str], rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
    return out.getvalue()


def _csv_value(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(value)
