"""Collecting a grid: where each cell stands, to tables, figures and (with
an export directory) exported copies of the finished cells.

Everything is rebuilt from the cells' small outputs (config.json,
metrics.json, information.json, and the exported record or the event
files for the training cost), so a grid collected from its exported copies
gives the same tables and metric figures as from its run directories.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Optional, Sequence

from provlae_tf import run_files
from provlae_tf.errors import UserError
from provlae_tf.experiments import export, plots, run_figures, tables
from provlae_tf.experiments.collect import Missing, RunResult, collect
from provlae_tf.experiments.grid import REFERENCE_MODEL, Grid
from provlae_tf.experiments.status import State, read_metrics


@dataclasses.dataclass(frozen=True)
class Collected:
    """What collecting wrote: the files, and the cells without a result."""

    results: list
    missing: list
    tables: list
    figures: list
    notes: list
    exported: int


def collect_grid(grid: Grid, statuses: Sequence, commands: Sequence[str],
                 descriptions: dict, export_dir: Optional[str] = None,
                 say: Callable[[str], None] = print,
                 warn: Callable[[str], None] = print) -> Collected:
    """Tables and figures from the finished cells, into out_dir (and into
    ``export_dir``, after exporting the cells finished in out_dir there).

    Args:
        grid: the grid.
        statuses: each cell's :func:`~provlae_tf.experiments.status.locate`
            status, in the grid's order.
        commands: one line per cell (results.md).
        descriptions: ``{dataset: its budget as run}`` (results.md).
        export_dir: where finished cells are exported, or None.
        say: progress lines.
        warn: with no finished cell, each problem other than "not run",
            before the error.

    Raises:
        UserError: no cell is finished (nothing is written).
    """
    finished, missing = [], []
    for s in statuses:
        if s.state is not State.FINISHED:
            missing.append(Missing(s.cell, _why(s)))
            continue
        try:
            finished.append((s.cell, read_metrics(
                run_files.path(s.cell.run_dir, run_files.METRICS))))
        except UserError as e:
            missing.append(Missing(s.cell, str(e)))
    results, unreadable = collect(finished)
    order = [s.cell.name for s in statuses]
    missing = sorted(missing + unreadable,
                     key=lambda m: order.index(m.cell.name))
    if not results:
        for m in missing:
            if not m.reason.startswith("not run"):
                warn(f"missing {m.cell.name}: {m.reason}")
        _nothing_finished(grid, missing)
    count = 0
    same = export_dir and os.path.abspath(export_dir) == \
        os.path.abspath(grid.out_dir)
    if export_dir and not same:
        count = export_results(results, export_dir, say)
    folders = [grid.out_dir] + ([export_dir] if export_dir and not same
                                else [])
    written, figures, notes = [], [], []
    for folder in folders:
        paths, problems = run_figures.plot_run_figures(folder, grid, results)
        figures += plots.plot_all(folder, grid, results) + paths
        written += tables.write_tables(folder, grid, results, missing,
                                       commands, descriptions, problems)
        if folder == grid.out_dir:
            notes = problems  # for the console
    return Collected(results, missing, written, figures, notes, count)


def export_results(results: Sequence[RunResult], export_dir: str,
                   say: Callable[[str], None] = print) -> int:
    """Exports the cells finished in their run directories (not those read
    from an exported copy) and each dataset's median pro-VLAE traversal;
    returns how many cells were exported."""
    count = 0
    for result in results:
        cell = result.cell
        target = dataclasses.replace(cell, out_dir=export_dir).run_dir
        if export.is_exported(cell.run_dir):
            continue  # read from its exported copy: nothing newer to copy
        export.export_cell(cell.run_dir, target)
        count += 1
    for dataset in dict.fromkeys(r.cell.dataset for r in results):
        run = run_figures.median_run(
            [r for r in results if r.cell.dataset == dataset],
            REFERENCE_MODEL)
        if run is not None:
            target = dataclasses.replace(run.cell, out_dir=export_dir)
            export.copy_image(run.cell.run_dir, target.run_dir,
                              run_figures.traversal_name(run))
    if count:
        say(f"exported {count} finished cells to {export_dir}")
    return count


def _nothing_finished(grid: Grid, missing: Sequence[Missing]) -> None:
    if not os.path.isdir(grid.out_dir):
        raise UserError(f"--out_dir={grid.out_dir}: no such directory; "
                        "expected the --out_dir of a grid that has run.")
    first = dataclasses.replace(missing[0].cell, out_dir=grid.out_dir)
    raise UserError(
        f"--out_dir={grid.out_dir}: none of the grid's {len(missing)} runs "
        f"is finished (expected {first.run_dir}/metrics.json and the like); "
        "run the grid first (without --collect), with the same --datasets, "
        "--models, --seeds and --budget.")


def _why(status) -> str:
    if status.state is State.NEW:
        return f"not run (no {status.cell.run_dir})"
    if status.state is State.DIVERGED:
        return f"training diverged: {status.reason}"
    if status.state is State.TRAINING:
        return f"training unfinished: {status.reason}"
    if status.state is State.SCORING:
        return f"trained, not scored: {status.reason}"
    return status.reason
