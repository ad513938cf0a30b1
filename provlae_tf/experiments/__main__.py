"""``python -m provlae_tf.experiments``: run, list or collect a grid.

    python -m provlae_tf.experiments --flagfile=flags/grids/cpu_dsprites.cfg
    python -m provlae_tf.experiments --budget=smoke --models=provlae,vlae \\
        --seeds=0 --parallel=2 --out_dir=runs/smoke_grid
    python -m provlae_tf.experiments ... --list      # one line per cell
    python -m provlae_tf.experiments ... --collect   # tables from what exists
    python -m provlae_tf.experiments ... --export_dir=docs/results/<grid>

The only module of the package that reads ``FLAGS``. See
docs/experiments.md.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags

from provlae_tf import native_log
from provlae_tf.errors import UserError
from provlae_tf.experiments import budgets, outputs, plots, runner
from provlae_tf.experiments import grid as grid_lib
from provlae_tf.experiments.status import State, expected_config, locate
from provlae_tf.flags import one_line_parser

FLAGS = flags.FLAGS
flags.DEFINE_list("datasets", list(grid_lib.DEFAULT_DATASETS),
                  "Datasets of the grid: "
                  + ", ".join(grid_lib.DATASET_NAMES) + ".")
flags.DEFINE_list("models", list(grid_lib.DEFAULT_MODELS),
                  "Models of the grid: " + ", ".join(grid_lib.MODELS) + ".")
flags.DEFINE_list("seeds", [str(s) for s in grid_lib.DEFAULT_SEEDS],
                  "Seeds of the grid (--seed of each run).")
flags.DEFINE_string("budget", grid_lib.DEFAULT_BUDGET,
                    "Data subset, epochs, fade-in and metric sizes. "
                    + " ".join(f"'{b.name}': {b.summary}."
                               for b in budgets.BUDGETS.values()))
flags.DEFINE_integer("steps_per_stage", None, "Overrides the steps per "
                     "stage of a step budget (" + ", ".join(
                         budgets.step_budgets()) + "); the budget is then "
                     "named <budget>@<steps>, e.g. medium@512.")
flags.DEFINE_string("out_dir", None, "Where the runs "
                    "(<out_dir>/<dataset>/<model>/seed<k>), tables and plots "
                    "go. Default runs/experiments/<budget>.")
flags.DEFINE_string("export_dir", None, "Copy each finished cell's small "
                    "outputs (no checkpoints) to <export_dir>/<dataset>/"
                    "<model>/seed<k> and write the tables and plots there "
                    "too; cells exported there count as finished.")
flags.DEFINE_integer("parallel", 1, "Cells run at once, as separate "
                     "processes sharing the CPU cores.")
flags.DEFINE_boolean("retry_diverged", False, "Resume the cells whose "
                     "training diverged (NaN or inf loss) too; by default "
                     "they are skipped, since resuming from the same "
                     "checkpoint replays the same divergence.")
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
                              FLAGS.budget, FLAGS.out_dir,
                              FLAGS.steps_per_stage)
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


def _statuses(cells, expected) -> list:
    return [locate(cell, expected[cell], FLAGS.export_dir) for cell in cells]


def _run_cells(grid, cells, expected, python, cwd) -> int:
    statuses = _statuses(cells, expected)
    conflicts = [s for s in statuses if s.state is State.CONFLICT]
    if conflicts:
        for s in conflicts:
            flag = ("--out_dir" if s.cell.out_dir == grid.out_dir
                    else "--export_dir")
            print(f"{PREFIX}: cell {s.cell.name}: {s.reason}; expected its "
                  "run directory empty or holding this cell's run. Move it "
                  f"aside or choose another {flag}.", file=sys.stderr)
        raise UserError(f"{len(conflicts)} of {len(cells)} cells hold another "
                        "configuration; nothing was run.")
    for s in statuses:
        if s.state is State.FINISHED:
            where = ("" if s.cell.out_dir == grid.out_dir
                     else f" (exported in {s.cell.out_dir})")
            print(f"{s.cell.name}: finished{where}, skipped")
        elif s.state is State.DIVERGED and not FLAGS.retry_diverged:
            print(f"{s.cell.name}: training diverged, skipped ({s.reason}); "
                  "--retry_diverged resumes it")
        elif s.state is State.DIVERGED:
            print(f"{s.cell.name}: resuming after a divergence ({s.reason})")
        elif s.state is not State.NEW:
            print(f"{s.cell.name}: resuming ({s.reason})")
    jobs = runner.plan_jobs(statuses, python, FLAGS.retry_diverged)
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
    # The budget in words, per dataset, from the configuration run there.
    descriptions = {d: budgets.describe_run(d, expected_config(
        grid_lib.Cell(d, grid_lib.REFERENCE_MODEL, grid.seeds[0],
                      grid.budget, grid.out_dir))) for d in grid.datasets}
    done = outputs.collect_grid(
        grid, _statuses(cells, expected), commands, descriptions,
        FLAGS.export_dir,
        warn=lambda line: print(f"{PREFIX}: {line}", file=sys.stderr))
    for m in done.missing:
        print(f"missing {m.cell.name}: {m.reason}")
    for note in done.notes:
        print(f"figure not drawn: {note}")
    folder = os.path.join(grid.out_dir, plots.PLOTS_DIR)
    print(f"{len(done.results)} of {len(cells)} runs collected"
          + (f", {len(done.missing)} missing" if done.missing else "")
          + f"; wrote {', '.join(done.tables[:3])} and "
          f"{sum(p.startswith(folder) for p in done.figures)} figures under "
          f"{folder}"
          + (f" (and the same under {FLAGS.export_dir})"
             if len(done.tables) > 3 else ""))
    return 0


# A bad flag is one line, like every other bad input.
_parse_flags = one_line_parser(FLAGS, PREFIX)


def run() -> None:
    """Entry point."""
    native_log.quiet_tensorflow_startup()
    app.run(main, flags_parser=_parse_flags)


if __name__ == "__main__":
    run()
