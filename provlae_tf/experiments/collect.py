"""Finished run directories to rows (the statistics over seeds:
:mod:`~provlae_tf.experiments.statistics`).

A row is one run: its cell (dataset, model, seed, budget), every metric of
its ``metrics.json`` on all ladders and per ladder, KL and I(x; z_l) per
ladder, and what training cost (images and seconds). Columns are named
``mig``, ``mig_l1`` ... ``mig_l<L>`` and so on; a model with fewer ladders
(the beta-VAE has one) leaves the others empty.

Where the numbers come from:

- metrics: ``metrics.json`` (``--mode=3`` at the run's last stage, on
  ``eval_images`` images); ``kl_l<l>`` and ``info_l<l>`` are its KL and
  I(x; z_l) per ladder;
- the information flow: ``information.json`` (KL and I(x; z_l) per ladder
  at every stage end, on the training subset);
- ``train_images`` and ``train_seconds``: ``training.json``, where the
  trainer adds every epoch's images and the seconds of its loop (steps,
  input and logging; not loading TensorFlow and the data, not the
  checkpoints and stage-end outputs). Every table and figure takes them
  from :func:`training_images` and :func:`training_seconds` alone.

An exported copy of a cell (:mod:`~provlae_tf.experiments.export`) keeps
its ``training.json``.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Optional, Sequence

from provlae_tf import run_files
from provlae_tf.errors import UserError
from provlae_tf.experiments.grid import Cell

# The disentanglement metrics, as metrics.json names them (its "all" and
# each of its "ladders").
METRICS = ("mig", "mig_sup", "factor_metric", "mig_histogram")
METRIC_TITLES = {"mig": "MIG", "mig_sup": "MIG-sup",
                 "factor_metric": "factor metric",
                 "mig_histogram": "mig_histogram"}
CELL_COLUMNS = ("dataset", "model", "seed", "budget")
# Columns that say which run a row is, not what it measured.
_NOT_MEASURED = (*CELL_COLUMNS, "stage", "eval_images")


@dataclasses.dataclass(frozen=True)
class RunResult:
    """One finished run.

    Attributes:
        cell: its cell.
        row: ``{column: value}`` (None where the run has no such number).
        num_ladders: the model's ladders.
        flow: ``{stage: [I(x; z_l) for l = 1..L]}`` from information.json.
        metrics: its metrics.json (the figures read the MI matrix there).
    """

    cell: Cell
    row: dict
    num_ladders: int
    flow: dict
    metrics: dict = dataclasses.field(default_factory=dict, repr=False)


@dataclasses.dataclass(frozen=True)
class Missing:
    """A cell without a result, and why."""

    cell: Cell
    reason: str


def read_run(cell: Cell, metrics: dict) -> RunResult:
    """The row of a finished cell.

    Args:
        cell: the cell.
        metrics: its ``metrics.json``, read.

    Raises:
        UserError: a file of the run lacks what the row needs (naming it).
    """
    path = run_files.path(cell.run_dir, run_files.METRICS)
    kl = _numbers(metrics, "kl", path)
    information = _numbers(metrics, "information", path)
    num_ladders = len(kl)
    if len(information) != num_ladders or not num_ladders:
        raise UserError(f"{path}: 'kl' and 'information' hold {len(kl)} and "
                        f"{len(information)} ladders; expected one number "
                        "per ladder in each")
    row = {"dataset": cell.dataset, "model": cell.model, "seed": cell.seed,
           "budget": cell.budget, "stage": metrics.get("stage"),
           "eval_images": metrics.get("num_images")}
    if "all" in metrics:
        for name in METRICS:
            row[name] = _number(metrics, ("all", name), path)
        for ladder in range(1, num_ladders + 1):
            for name in METRICS:
                row[f"{name}_l{ladder}"] = _number(
                    metrics, ("ladders", str(ladder), name), path)
    row["kl"] = float(sum(kl))
    for ladder in range(1, num_ladders + 1):
        row[f"kl_l{ladder}"] = kl[ladder - 1]
    for ladder in range(1, num_ladders + 1):
        row[f"info_l{ladder}"] = information[ladder - 1]
    row["train_images"] = training_images(cell.run_dir)
    row["train_seconds"] = training_seconds(cell.run_dir)
    return RunResult(cell, row, num_ladders, read_flow(cell.run_dir),
                     metrics)


def collect(finished: Iterable[tuple[Cell, dict]]
            ) -> tuple[list[RunResult], list[Missing]]:
    """Rows of finished cells; a cell whose files fall short is missing.

    Args:
        finished: ``(cell, its metrics.json)`` of every finished cell.
    """
    results, missing = [], []
    for cell, metrics in finished:
        try:
            results.append(read_run(cell, metrics))
        except UserError as e:
            missing.append(Missing(cell, str(e)))
    return results, missing


def columns(results: Sequence[RunResult]) -> list[str]:
    """Every column, in order, for the most ladders of any row."""
    ladders = range(1, max((r.num_ladders for r in results), default=0) + 1)
    has_metrics = any("mig" in r.row for r in results)
    names = [*CELL_COLUMNS, "stage", "eval_images"]
    if has_metrics:
        names += list(METRICS)
        names += [f"{m}_l{l}" for l in ladders for m in METRICS]
    names += ["kl", *[f"kl_l{l}" for l in ladders],
              *[f"info_l{l}" for l in ladders], "train_images",
              "train_seconds"]
    return names


def measured_columns(results: Sequence[RunResult]) -> list[str]:
    """The columns of :func:`columns` that hold a measurement (the ones
    summary.csv summarises): all but the cell, stage and eval_images."""
    return [c for c in columns(results) if c not in _NOT_MEASURED]


# ------------------------------------------------------ what a run records
def read_flow(run_dir: str) -> dict:
    """``{stage: [I(x; z_l) per ladder]}`` from information.json ({} without
    one, e.g. a run with --info_images=0).

    Raises:
        UserError: the file is there but unreadable or not the trainer's.
    """
    path = run_files.path(run_dir, run_files.INFORMATION)
    try:
        return {stage: [float(v) for v in record["mutual_information"]]
                for stage, record in run_files.read_information(
                    run_dir).items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise UserError(f"{path}: unreadable ({type(e).__name__}: {e}); "
                        "expected the trainer's information.json "
                        "({'stages': {stage: {'mutual_information': "
                        "[...]}}})") from None


def training_images(run_dir: str) -> Optional[int]:
    """Images trained on (training.json; None without it)."""
    return run_files.training_totals(run_dir)[1]


def training_seconds(run_dir: str) -> Optional[float]:
    """Seconds spent training (training.json; None without it): every
    table and figure gets them from here."""
    return run_files.training_totals(run_dir)[0]


def _numbers(metrics: dict, key: str, path: str) -> list[float]:
    values = metrics.get(key)
    if not isinstance(values, list) or not all(
            isinstance(v, (int, float)) for v in values):
        raise UserError(f"{path}: '{key}' is {values!r}; expected a list of "
                        "numbers, one per ladder")
    return [float(v) for v in values]


def _number(metrics: dict, keys: tuple, path: str) -> float:
    value = metrics
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise UserError(f"{path}: no number at '{'.'.join(keys)}' (found "
                        f"{value!r}); expected the report --mode=3 writes")
    return float(value)
