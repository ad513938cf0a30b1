"""What a cell's run directory holds: nothing, a run to resume, a run that
diverged, a trained run to score, a finished run, or another configuration.

The cell's configuration is what main builds from the cell's flags, parsed
here exactly as main parses them (a private ``FlagValues``; the global
``FLAGS`` is never read). A run directory belongs to the cell when its
``config.json`` is that configuration (but for where the directory is and
the stages the last command asked for); it is finished when the snapshot
of its last stage exists (the trainer writes it when the stage ends) and
``metrics.json`` scores that stage with the cell's estimate sizes.

An exported copy of a cell (:mod:`~provlae_tf.experiments.export`: the
small outputs and ``exported.json``, no checkpoints) is finished when its
configuration is the cell's and its ``metrics.json`` scores the last stage
with the cell's estimate sizes; anything else in it is a conflict (there is
no checkpoint to resume or score). :func:`locate` looks for a cell in the
grid's out_dir and in an export directory.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from typing import Optional

from absl import flags

from provlae_tf import config as config_lib
from provlae_tf import run_files
from provlae_tf.errors import UserError
from provlae_tf.experiments.export import RECORD, is_exported
from provlae_tf.experiments.grid import Cell
from provlae_tf.fileio import load_json_object
from provlae_tf.flags import define_flags

# Fields of config.json that may differ between the cell and its run
# directory: where it is, which mode the last command ran, and which stages
# it asked for (a run trained stage by stage with --train_seq=k is the same
# run, as main itself treats it).
_NOT_COMPARED = ("checkpoint_dir", "mode", "train.train_seq")


class State(enum.Enum):
    """Where a cell stands."""

    NEW = "new"                # no run directory (or an empty one)
    TRAINING = "training"      # started, its last stage not finished
    DIVERGED = "diverged"      # its training stopped on a NaN/inf loss
    SCORING = "scoring"        # trained; metrics.json missing or stale
    FINISHED = "finished"      # trained and scored
    CONFLICT = "conflict"      # holds something else: never touched


@dataclasses.dataclass(frozen=True)
class CellStatus:
    """A cell's :class:`State` and, but for NEW and FINISHED, why."""

    cell: Cell
    state: State
    reason: str = ""


def expected_config(cell: Cell) -> config_lib.RunConfig:
    """The RunConfig that main builds from the cell's training command.

    Raises:
        UserError: the cell's flags are refused (naming the cell).
    """
    values = flags.FlagValues()
    define_flags(values)
    try:
        values(["provlae_tf.main", *cell.flags()])
        return config_lib.from_flags(values)
    except (flags.Error, UserError) as e:
        raise UserError(f"cell {cell.name}: its command is refused: {e}") \
            from None


def final_stage(config: config_lib.RunConfig) -> int:
    """The stage whose end finishes the run (a baseline has one stage)."""
    seq = config.train.train_seq
    return config.model.num_ladders if seq == "all" else int(seq)


def cell_status(cell: Cell,
                expected: Optional[config_lib.RunConfig] = None
                ) -> CellStatus:
    """Reads the cell's run directory (never writes).

    Args:
        cell: the cell.
        expected: its :func:`expected_config` (computed when not given).
    """
    expected = expected or expected_config(cell)
    run_dir = cell.run_dir
    try:
        saved = config_lib.load_run_config(run_dir)
    except UserError as e:
        return CellStatus(cell, State.CONFLICT, str(e))
    if saved is None:
        if os.path.isdir(run_dir) and os.listdir(run_dir):
            return CellStatus(cell, State.CONFLICT,
                              f"{run_dir} holds no provlae_tf run (no "
                              "config.json) but is not empty")
        if os.path.exists(run_dir) and not os.path.isdir(run_dir):
            return CellStatus(cell, State.CONFLICT,
                              f"{run_dir} is a file, expected a run directory")
        return CellStatus(cell, State.NEW)
    differences = config_differences(saved, expected)
    if differences:
        return CellStatus(cell, State.CONFLICT,
                          f"{run_dir} holds another configuration ("
                          + "; ".join(differences) + ")")
    stage = final_stage(expected)
    snapshot = os.path.join(run_files.stage_snapshot_dir(run_dir, stage),
                            "ckpt.index")
    exported = not os.path.exists(snapshot) and is_exported(run_dir)
    if not os.path.exists(snapshot) and not exported:
        # Resuming a diverged run replays the same steps from the same
        # checkpoint into the same divergence: kept apart from a resume.
        diverged = run_files.divergence(run_dir)
        if diverged:
            return CellStatus(cell, State.DIVERGED, diverged)
        return CellStatus(cell, State.TRAINING,
                          f"stage {stage} not finished (no {snapshot})")
    status = _scoring_status(cell, expected, stage)
    if exported and status.state is State.SCORING:
        # No checkpoint to score it with: never "resumed".
        return CellStatus(cell, State.CONFLICT,
                          f"{run_dir} is an exported copy ({RECORD}, no "
                          f"checkpoints) but {status.reason}")
    return status


def locate(cell: Cell, expected: config_lib.RunConfig,
           export_dir: Optional[str] = None) -> CellStatus:
    """Where a cell stands, in its run directory and in its exported copy
    under ``export_dir`` (when given).

    Finished in either: finished (the returned status's cell is the one
    finished, its run directory in out_dir first). A conflict in either: a
    conflict (nothing is run). An export directory holds finished cells
    only: an unfinished run there is a conflict too. Else the run
    directory's state.
    """
    here = cell_status(cell, expected)
    if not export_dir or os.path.abspath(export_dir) == \
            os.path.abspath(cell.out_dir):
        return here
    copy = cell_status(dataclasses.replace(cell, out_dir=export_dir),
                       expected)
    for status in (here, copy):
        if status.state is State.CONFLICT:
            return status
    for status in (here, copy):
        if status.state is State.FINISHED:
            return status
    if copy.state is State.NEW:
        return here
    return CellStatus(copy.cell, State.CONFLICT, f"{copy.cell.run_dir} holds "
                      f"an unfinished run ({copy.reason}); an --export_dir "
                      "holds finished cells only")


def _scoring_status(cell: Cell, expected: config_lib.RunConfig,
                    stage: int) -> CellStatus:
    path = run_files.path(cell.run_dir, run_files.METRICS)
    if not os.path.exists(path):
        return CellStatus(cell, State.SCORING, f"no {path}")
    try:
        metrics = read_metrics(path)
    except UserError as e:
        return CellStatus(cell, State.SCORING, str(e))
    if metrics.get("stage") != stage:
        return CellStatus(cell, State.SCORING,
                          f"{path} scores stage {metrics.get('stage')}, "
                          f"expected the last stage, {stage}")
    options = dataclasses.asdict(expected.eval)
    saved = metrics.get("options")
    if saved != options:
        changed = sorted(k for k in options
                         if not isinstance(saved, dict)
                         or saved.get(k) != options[k])
        return CellStatus(cell, State.CONFLICT,
                          f"{path} was computed with other --mode=3 options "
                          f"({', '.join(changed)})")
    return CellStatus(cell, State.FINISHED)


def read_metrics(path: str) -> dict:
    """A ``metrics.json``, or one line saying what is wrong with it.

    Raises:
        UserError: unreadable, not JSON, or not the object --mode=3 writes.
    """
    data = load_json_object(path, "the JSON object that --mode=3 writes")
    if "kl" not in data:
        raise UserError(f"{path}: not a --mode=3 report (no 'kl'); expected "
                        "the JSON object that --mode=3 writes")
    return data


def config_differences(saved: config_lib.RunConfig,
                       expected: config_lib.RunConfig) -> list[str]:
    """``"field=value there, value expected"`` for every differing field."""
    old, new = _flat(saved), _flat(expected)
    return [f"{key}={old.get(key)!r} there, {new[key]!r} expected"
            for key in new if key not in _NOT_COMPARED
            and old.get(key) != new[key]]


def _flat(config: config_lib.RunConfig) -> dict:
    flat = {}
    for key, value in dataclasses.asdict(config).items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat
