"""The models of a grid, and its cells with their command lines.

A cell is one (dataset, model, seed) under one budget. It is exactly two
``python -m provlae_tf.main`` commands with the same flags: training, then
``--mode=3`` (the metrics); :func:`command_line` writes them as the one
shell line that ``--list`` prints and a cluster scheduler can run as is.

Models and budgets are data (:data:`MODELS`; the budgets in
:mod:`~provlae_tf.experiments.budgets`): a grid model is a ``--model`` of
main plus flags (the ablations, the beta sweep), a budget is flags that
change only the data subset, the epochs, the fade-in length and the sizes of
the estimates, never the model or the loss.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from typing import Iterable, Optional, Sequence

from provlae_tf.datasets import DATASET_NAMES
from provlae_tf.errors import UserError
from provlae_tf.experiments import budgets

Flags = budgets.Flags


@dataclasses.dataclass(frozen=True)
class GridModel:
    """A model of the grid: main's ``--model`` and the flags that make it.

    Attributes:
        name: the grid's name for it (the run directory's folder).
        kind: main's ``--model``.
        flags: further flags of main (the ablations).
        progressive: trained stage by stage (its information flow is
            plotted per stage end).
        description: one line for results.md and docs.
    """

    name: str
    kind: str
    flags: Flags = ()
    progressive: bool = False
    description: str = ""


MODELS = {m.name: m for m in (
    GridModel("provlae", "provlae", (), True,
              "pro-VLAE: progressive stages, fade-in and pre-KL as the "
              "dataset's recipe says"),
    GridModel("vlae", "vlae", (), False,
              "VLAE: the same ladder network, every ladder from the first "
              "step, no fade-in, no pre-KL, L x epoch_size epochs"),
    GridModel("beta_vae", "beta_vae", (), False,
              "beta-VAE: one ladder of L x z_dim latents, L x epoch_size "
              "epochs"),
    # Ablations of pro-VLAE (on 3D Shapes, whose recipe has no fade-in,
    # provlae_nofade trains the same as provlae).
    GridModel("provlae_nofade", "provlae", (("fadein", False),), True,
              "pro-VLAE without fade-in (--fadein=false)"),
    GridModel("provlae_nokl", "provlae", (("KL", False),), True,
              "pro-VLAE without pre-KL (--KL=false)"),
    # The beta sweep of the beta-VAE baseline (the recipe's beta is 1 on
    # dSprites and 8 on 3D Shapes: beta_vae_b1 there, beta_vae_b8 here is
    # beta_vae itself, so each dataset's sweep takes the other two).
    GridModel("beta_vae_b1", "beta_vae", (("beta", 1),), False,
              "beta-VAE with beta = 1 (--beta=1; a plain VAE)"),
    GridModel("beta_vae_b4", "beta_vae", (("beta", 4),), False,
              "beta-VAE with beta = 4 (--beta=4)"),
    GridModel("beta_vae_b8", "beta_vae", (("beta", 8),), False,
              "beta-VAE with beta = 8 (--beta=8)"),
)}
# The model every other one is compared with (results.md, summary.csv).
REFERENCE_MODEL = "provlae"


DEFAULT_DATASETS = ("dsprites",)
DEFAULT_MODELS = ("provlae", "vlae", "beta_vae")
DEFAULT_SEEDS = (0, 1, 2)
DEFAULT_BUDGET = "cpu"


def default_out_dir(budget: str) -> str:
    """Where a grid's runs and tables go when ``--out_dir`` is not given
    (``budget`` is the grid's budget name, ``medium@512`` included)."""
    return os.path.join("runs", "experiments", budget)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One run of a grid: a dataset, a model and a seed under a budget."""

    dataset: str
    model: str
    seed: int
    budget: str
    out_dir: str

    @property
    def name(self) -> str:
        """``<dataset>/<model>/seed<k>``: its run directory under out_dir."""
        return f"{self.dataset}/{self.model}/seed{self.seed}"

    @property
    def run_dir(self) -> str:
        return os.path.join(self.out_dir, self.dataset, self.model,
                            f"seed{self.seed}")

    def flags(self) -> list[str]:
        """main's flags for this cell (both commands; no ``--mode``)."""
        model = MODELS[self.model]
        pairs = (("dataset", self.dataset), ("model", model.kind),
                 ("seed", self.seed), ("checkpoint_dir", self.run_dir),
                 *budgets.resolve(self.budget).flags_for(self.dataset),
                 *model.flags)
        return [f"--{name}={flag_value(value)}" for name, value in pairs]

    def train_argv(self, python: str) -> list[str]:
        """The training command (resumes an interrupted run)."""
        return [python, "-m", "provlae_tf.main", *self.flags()]

    def metrics_argv(self, python: str) -> list[str]:
        """The ``--mode=3`` command: writes ``metrics.json``."""
        return [*self.train_argv(python), "--mode=3"]


def command_line(cell: Cell, python: str, cwd: str) -> str:
    """The cell as one self-contained shell line: ``cd``, train, score.

    ``cd`` first, because relative paths (``--out_dir``, ``--data_dir``'s
    default ``data``) mean what they meant where the grid was given.
    """
    return " && ".join([f"cd {shlex.quote(cwd)}",
                        shlex.join(cell.train_argv(python)),
                        shlex.join(cell.metrics_argv(python))])


def flag_value(value) -> str:
    """A flag value as main parses it (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclasses.dataclass(frozen=True)
class Grid:
    """datasets x models x seeds under one budget, written under out_dir."""

    datasets: tuple
    models: tuple
    seeds: tuple
    budget: str
    out_dir: str

    def cells(self) -> list[Cell]:
        """Every cell, dataset-major, then model, then seed."""
        return [Cell(d, m, s, self.budget, self.out_dir)
                for d in self.datasets for m in self.models
                for s in self.seeds]


def make_grid(datasets: Sequence[str], models: Sequence[str],
              seeds: Sequence, budget: str, out_dir: str = "",
              steps_per_stage: Optional[int] = None) -> Grid:
    """Checks the names and builds the grid (duplicates dropped, order kept).

    Args:
        datasets, models: names (:data:`~provlae_tf.datasets.DATASET_NAMES`,
            :data:`MODELS`).
        seeds: integers, or strings of integers (as a list flag gives them).
        budget: a name of :data:`~provlae_tf.experiments.budgets.BUDGETS`
            (or ``<name>@<S>``).
        out_dir: where the runs go; empty = :func:`default_out_dir`.
        steps_per_stage: overrides a step budget's S; the grid's budget is
            then ``<name>@<S>`` (:func:`~provlae_tf.experiments.budgets.
            budget_name`).

    Raises:
        UserError: one line naming the flag, the bad value and the choices.
    """
    datasets = _names("datasets", datasets, DATASET_NAMES, "dataset")
    models = _names("models", models, tuple(MODELS), "model")
    budget = budgets.budget_name(budget, steps_per_stage)
    parsed = []
    for seed in seeds:
        text = str(seed).strip()
        if not text.isdigit() or int(text) >= 2 ** 32:
            raise UserError(f"--seeds={seed}: expected integers in "
                            "[0, 2**32), e.g. --seeds=0,1,2.")
        parsed.append(int(text))
    if not parsed:
        raise UserError("--seeds: expected at least one seed, e.g. "
                        "--seeds=0,1,2.")
    return Grid(datasets, models, tuple(dict.fromkeys(parsed)), budget,
                out_dir or default_out_dir(budget))


def _names(flag: str, given: Iterable[str], known: Sequence[str],
           what: str) -> tuple:
    given = [str(name).strip() for name in given]
    if not given:
        raise UserError(f"--{flag}: expected at least one {what}; one of "
                        f"{', '.join(known)}.")
    for name in given:
        if name not in known:
            raise UserError(f"--{flag}={name}: unknown {what}; expected one "
                            f"of {', '.join(known)}.")
    return tuple(dict.fromkeys(given))
