"""The models, the budgets, and the cells of a grid with their command lines.

A cell is one (dataset, model, seed) under one budget. It is exactly two
``python -m provlae_tf.main`` commands with the same flags: training, then
``--mode=3`` (the metrics); :func:`command_line` writes them as the one
shell line that ``--list`` prints and a cluster scheduler can run as is.

Models and budgets are data (:data:`MODELS`, :data:`BUDGETS`): a grid model
is a ``--model`` of main plus flags (the ablations), a budget is flags that
change only the data subset, the epochs, the fade-in length and the sizes of
the estimates, never the model or the loss.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from typing import Iterable, Sequence

from provlae_tf.constants import DATASETS
from provlae_tf.errors import UserError

Flags = tuple  # ((flag name, value), ...), in command-line order


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
)}


@dataclasses.dataclass(frozen=True)
class Budget:
    """Flags that size a run: data subset, epochs, fade-in, estimate sizes.

    Every flag goes to both commands of a cell (training ignores the metric
    sizes, --mode=3 the training ones), so a cell is one flag list.
    """

    name: str
    flags: Flags
    description: str


BUDGETS = {b.name: b for b in (
    # Every step of a cell, as fast as it goes: 4 steps per stage, every
    # metric from 512 images with tiny estimates.
    Budget("smoke", (
        ("max_examples", 512), ("epoch_size", 1), ("fade_in_duration", 2),
        ("info_images", 128), ("info_samples", 50), ("mig_samples", 500),
        ("factor_train_votes", 50), ("factor_eval_votes", 25),
        ("factor_variance_samples", 500), ("histogram_samples", 500),
        ("eval_images", 512)),
        "512-image subset, 1 epoch per stage (dSprites: 4 steps of 128), "
        "fade-in over 2 steps; every metric from 512 images with tiny "
        "estimates (I(x; z_l) on 128 images and 50 queries, 500 MIG "
        "samples, 50/25 factor votes)"),
    # dSprites' three models x 3 seeds in under 90 minutes on 2 CPU cores,
    # metrics included: 384 steps of 128 per stage (a third of them fading
    # the new ladder in), metrics on a 65,536-image subset of the grid.
    Budget("cpu", (
        ("max_examples", 49152), ("epoch_size", 1),
        ("fade_in_duration", 128), ("eval_images", 65536)),
        "49,152-image subset, 1 epoch per stage (384 steps of 128), fade-in "
        "over 128 steps; metrics on a seeded 65,536-image subset of the "
        "grid with the default estimate sizes"),
    Budget("full", (),
           "the dataset's original recipe as is (flags/<dataset>.cfg: "
           "dSprites 30, 3D Shapes 15, CelebA 5 epochs per stage on the "
           "whole dataset); every metric from every image with the default "
           "estimate sizes"),
)}

DEFAULT_DATASETS = ("dsprites",)
DEFAULT_MODELS = ("provlae", "vlae", "beta_vae")
DEFAULT_SEEDS = (0, 1, 2)
DEFAULT_BUDGET = "cpu"


def default_out_dir(budget: str) -> str:
    """Where a grid's runs and tables go when ``--out_dir`` is not given."""
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
                 *BUDGETS[self.budget].flags, *model.flags)
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
              seeds: Sequence, budget: str, out_dir: str = "") -> Grid:
    """Checks the names and builds the grid (duplicates dropped, order kept).

    Args:
        datasets, models: names (:data:`~provlae_tf.constants.DATASETS`,
            :data:`MODELS`).
        seeds: integers, or strings of integers (as a list flag gives them).
        budget: a name of :data:`BUDGETS`.
        out_dir: where the runs go; empty = :func:`default_out_dir`.

    Raises:
        UserError: one line naming the flag, the bad value and the choices.
    """
    datasets = _names("datasets", datasets, DATASETS, "dataset")
    models = _names("models", models, tuple(MODELS), "model")
    if budget not in BUDGETS:
        raise UserError(f"--budget={budget}: unknown budget; expected one of "
                        f"{', '.join(BUDGETS)}.")
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
