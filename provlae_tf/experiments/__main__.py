"""``python -m provlae_tf.experiments``: run, list or collect a grid.

    python -m provlae_tf.experiments --flagfile=flags/grids/cpu_dsprites.cfg
    python -m provlae_tf.experiments --budget=smoke --models=provlae,vlae \\
        --seeds=0 --parallel=2 --out_dir=runs/smoke_grid
    python -m provlae_tf.experiments ... --list      # one line per cell
    python -m provlae_tf.experiments ... --collect   # tables from what exists

The only module of the package that reads ``FLAGS``. See
docs/experiments.md.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags

from provlae_tf.errors import UserError
from provlae_tf.experiments import collect as collect_lib
from provlae_tf.experiments import grid as grid_lib
from provlae_tf.experiments import plots, runner, tables
from provlae_tf.experiments.status import (State, cell_status,
                                           expected_config, read_metrics)
from provlae_tf.flags import one_line_parser

FLAGS = flags.FLAGS
flags.DEFINE_list("datasets", list(grid_lib.DEFAULT_DATASETS),
                  "Datasets of the grid: "
                  + ", ".join(grid_lib.DATASETS) + ".")
flags.DEFINE_list("models", list(grid_lib.DEFAULT_MODELS),
                  "Models of the grid: " + ", ".join(grid_lib.MODELS) + ".")
flags.DEFINE_list("seeds", [str(s) for s in grid_lib.DEFAULT_SEEDS],
                  "Seeds of the grid (--seed of each run).")
flags.DEFINE_string("budget", grid_lib.DEFAULT_BUDGET,
                    "Data subset, epochs, fade-in and metric sizes: "
                    + ", ".join(grid_lib.BUDGETS) + ".")
flags.DEFINE_string("out_dir", None, "Where the runs "
                    "(<out_dir>/<dataset>/<model>/seed<k>), tables and plots "
                    "go. Default runs/experiments/<budget>.")
flags.DEFINE_integer("parallel", 1, "Cells run at once, as separate "
                     "processes sharing the CPU cores.")
flags.DEFINE_boolean("list", False, "Print one self-contained command line "
                     "per cell and exit (for a cluster scheduler).")
flags.DEFINE_boolean("collect", False, "Only build the tables and plots from "
                     "the finished run directories; list the missing ones.")

PREFIX = "provlae_tf.experiments"


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    try:
        sys.exit(_run())
    except UserError as e:
        print(f"{PREFIX}: {e}", file=sys.stderr)
        sys.exit(1)


def _run() -> int:
    # Our lines and the children's output share the terminal: keep order.
    sys.stdout.reconfigure(line_buffering=True)
    if FLAGS.list and FLAGS.collect:
        raise UserError("--list and --collect: expected at most one of them.")
    if FLAGS.parallel < 1:
        raise UserError(f"--parallel={FLAGS.parallel}: expected a positive "
                        "number of processes.")
    grid = grid_lib.make_grid(FLAGS.datasets, FLAGS.models, FLAGS.seeds,
                              FLAGS.budget, FLAGS.out_dir)
    cells = grid.cells()
    # Every cell's command is checked as main would, before anything runs.
    expected = {cell: expected_config(cell) for cell in cells}
    python, cwd = sys.executable, os.getcwd()
    commands = [grid_lib.command_line(cell, python, cwd) for cell in cells]
    if FLAGS.list:
        print("\n".join(commands))
        return 0
    code = 0
    if not FLAGS.collect:
        code = _run_cells(grid, cells, expected, python, cwd)
        if code == runner.INTERRUPTED_EXIT:
            return code  # tables when the grid is rerun (or --collect)
    return max(code, _collect(grid, cells, expected, commands))


def _run_cells(grid, cells, expected, python, cwd) -> int:
    statuses = [cell_status(cell, expected[cell]) for cell in cells]
    conflicts = [s for s in statuses if s.state is State.CONFLICT]
    if conflicts:
        for s in conflicts:
            print(f"{PREFIX}: cell {s.cell.name}: {s.reason}; expected its "
                  "run directory empty or holding this cell's run. Move it "
                  "aside or choose another --out_dir.", file=sys.stderr)
        raise UserError(f"{len(conflicts)} of {len(cells)} cells hold another "
                        "configuration; nothing was run.")
    for s in statuses:
        if s.state is State.FINISHED:
            print(f"{s.cell.name}: finished, skipped")
        elif s.state is not State.NEW:
            print(f"{s.cell.name}: resuming ({s.reason})")
    jobs = runner.plan_jobs(statuses, python)
    outcomes = runner.run_jobs(jobs, parallel=FLAGS.parallel, cwd=cwd,
                               log_dir=os.path.join(grid.out_dir, "logs"))
    bad = [o for o in outcomes if o.result != "done"]
    for o in bad:
        print(f"{PREFIX}: cell {o.cell.name}: {o.result} ({o.message}); "
              "rerun the same command to resume it.", file=sys.stderr)
    if any(o.result == "interrupted" for o in bad):
        return runner.INTERRUPTED_EXIT
    return 1 if bad else 0


def _collect(grid, cells, expected, commands) -> int:
    finished, missing = [], []
    for cell in cells:
        s = cell_status(cell, expected[cell])
        if s.state is State.FINISHED:
            try:
                metrics = read_metrics(os.path.join(cell.run_dir,
                                                    "metrics.json"))
            except UserError as e:
                missing.append(collect_lib.Missing(cell, str(e)))
                continue
            finished.append((cell, metrics))
        else:
            missing.append(collect_lib.Missing(cell, _why(s)))
    results, unreadable = collect_lib.collect(finished)
    missing += unreadable
    missing.sort(key=lambda m: cells.index(m.cell))
    if not results:
        if not os.path.isdir(grid.out_dir):
            raise UserError(f"--out_dir={grid.out_dir}: no such directory; "
                            "expected the --out_dir of a grid that has run.")
        for m in missing:
            if not m.reason.startswith("not run"):
                print(f"{PREFIX}: missing {m.cell.name}: {m.reason}",
                      file=sys.stderr)
        raise UserError(
            f"--out_dir={grid.out_dir}: none of the grid's {len(cells)} runs "
            f"is finished (expected {cells[0].run_dir}/metrics.json and the "
            "like); run the grid first (without --collect), with the same "
            "--datasets, --models, --seeds and --budget.")
    paths = tables.write_tables(grid.out_dir, grid, results, missing,
                                commands)
    paths += plots.plot_all(grid.out_dir, grid, results)
    for m in missing:
        print(f"missing {m.cell.name}: {m.reason}")
    print(f"{len(results)} of {len(cells)} runs collected"
          + (f", {len(missing)} missing" if missing else "")
          + f"; wrote {', '.join(paths[:2])} and {len(paths) - 2} plots under "
          f"{os.path.join(grid.out_dir, plots.PLOTS_DIR)}")
    return 0


def _why(status) -> str:
    if status.state is State.NEW:
        return f"not run (no {status.cell.run_dir})"
    if status.state is State.TRAINING:
        return f"training unfinished: {status.reason}"
    if status.state is State.SCORING:
        return f"trained, not scored: {status.reason}"
    return status.reason


# A bad flag is one line, like every other bad input.
_parse_flags = one_line_parser(FLAGS, PREFIX)


def run() -> None:
    """Entry point."""
    app.run(main, flags_parser=_parse_flags)


if __name__ == "__main__":
    run()
