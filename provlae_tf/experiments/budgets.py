"""Budgets: how long a grid's cells train and how large their estimates are.

A budget changes only the data subset, the epochs, the fade-in length and
the sizes of the metric estimates, never the model or the loss (batch size,
beta, coff and z_dim stay the dataset's recipe). Two kinds:

- fixed flags, the same for every dataset (``smoke``, ``full``);
- steps (``cpu``, ``medium``): S steps per stage for every dataset, so the
  training subset is S x that dataset's recipe batch
  (:data:`~provlae_tf.datasets.DATASETS`) trained for 1 epoch per stage, and
  the fade-in lasts a stated fraction of those S steps.

A step budget's S can be overridden (``--steps_per_stage``, for calibration);
the budget is then named ``<budget>@<S>`` (e.g. ``medium@512``) everywhere:
in results, in the default out_dir, in every cell, so that cells of
different S never mix.

:func:`describe_run` says in words what a cell's configuration trains and
measures, for results.md, from the configuration itself.
"""

from __future__ import annotations

import dataclasses
import fractions
from typing import Optional

from provlae_tf.config import EvalConfig, RunConfig
from provlae_tf.datasets import DATASETS
from provlae_tf.errors import UserError

Flags = tuple  # ((flag name, value), ...), in command-line order

SEPARATOR = "@"  # <budget>@<steps per stage>
DATASET_TITLES = {"dsprites": "dSprites", "3dshapes": "3D Shapes",
                  "celeba": "CelebA", "mnist": "MNIST"}


@dataclasses.dataclass(frozen=True)
class Budget:
    """Flags that size a run: data subset, epochs, fade-in, estimate sizes.

    Every flag goes to both commands of a cell (training ignores the metric
    sizes, --mode=3 the training ones), so a cell is one flag list.

    Attributes:
        name: its name (``medium@512`` when S was overridden).
        flags: flags for every dataset (a step budget: the metric sizes).
        summary: one line for docs and ``--help``; results.md describes
            the configurations actually run (:func:`describe_run`).
        steps_per_stage: S of a step budget, else None.
        fade_in_fraction: the part of a stage's S steps that fades the new
            ladder in (a step budget).
    """

    name: str
    flags: Flags
    summary: str
    steps_per_stage: Optional[int] = None
    fade_in_fraction: fractions.Fraction = fractions.Fraction(1, 3)

    @property
    def base(self) -> str:
        """The name without ``@<S>``."""
        return self.name.partition(SEPARATOR)[0]

    def fade_in_steps(self) -> int:
        """The fade-in of a step budget, in steps (rounded down)."""
        return int(self.steps_per_stage * self.fade_in_fraction)

    def flags_for(self, dataset: str) -> Flags:
        """The flags of main for a cell of ``dataset``."""
        if self.steps_per_stage is None:
            return self.flags
        batch = DATASETS[dataset].recipe["batch_size"]
        return (("max_examples", self.steps_per_stage * batch),
                ("epoch_size", 1), ("fade_in_duration", self.fade_in_steps()),
                *self.flags)


BUDGETS = {b.name: b for b in (
    # Every step of a cell, as fast as it goes: 4 steps per stage on
    # dSprites, every metric from 512 images with tiny estimates.
    Budget("smoke", (
        ("max_examples", 512), ("epoch_size", 1), ("fade_in_duration", 2),
        ("info_images", 128), ("info_samples", 50), ("mig_samples", 500),
        ("factor_train_votes", 50), ("factor_eval_votes", 25),
        ("factor_variance_samples", 500), ("histogram_samples", 500),
        ("eval_images", 512)),
        "a 512-image subset, 1 epoch per stage (dSprites: 4 steps of 128), "
        "fade-in over 2 steps; every metric from 512 images with tiny "
        "estimates"),
    # dSprites' three models x 3 seeds in about 90 minutes on 2 CPU cores,
    # metrics included (on dSprites exactly the budget docs/results.md's cpu
    # results were measured with: 49,152 images, fade-in over 128 steps).
    Budget("cpu", (("eval_images", 65536),),
           "384 steps per stage of the dataset's batch (1 epoch of a subset "
           "of 384 batches), fade-in over a third; metrics on a seeded "
           "65,536-image subset with the default estimate sizes",
           steps_per_stage=384),
    # The comparison grids' budget: the calibration of docs/results.md
    # (pro-VLAE's MIG at 512 and 1,024 steps per stage, 2 seeds each) found
    # it still climbing on 3D Shapes at 512.
    Budget("medium", (("eval_images", 65536),),
           "1,024 steps per stage of the dataset's batch (1 epoch of a "
           "subset of 1,024 batches), fade-in over a third; metrics on a "
           "seeded 65,536-image subset with the default estimate sizes",
           steps_per_stage=1024),
    Budget("full", (),
           "the dataset's original recipe as is (flags/<dataset>.cfg: "
           "dSprites 30, 3D Shapes 15, CelebA 5 epochs per stage on the "
           "whole dataset); every metric from every image"),
)}


def budget_name(name: str, steps_per_stage: Optional[int] = None) -> str:
    """The budget's name for a grid: ``name``, or ``name@S`` when
    ``steps_per_stage`` overrides its S (``name`` may already be
    ``name@S``).

    Raises:
        UserError: an unknown budget, a bad S, or S for a budget that is
            not sized in steps.
    """
    base, _, given = str(name).partition(SEPARATOR)
    if base not in BUDGETS:
        raise UserError(f"--budget={name}: unknown budget; expected one of "
                        f"{', '.join(BUDGETS)}.")
    budget = BUDGETS[base]
    steps = []
    if given:
        steps.append((f"--budget={name}", given))
    if steps_per_stage is not None:
        steps.append((f"--steps_per_stage={steps_per_stage}",
                      str(steps_per_stage)))
    values = []
    for flag, text in steps:
        if budget.steps_per_stage is None:
            raise UserError(f"{flag}: the {base} budget is not sized in steps "
                            "per stage; expected one of "
                            f"{', '.join(step_budgets())}.")
        if not text.isdigit() or int(text) < 1:
            raise UserError(f"{flag}: expected a positive number of steps "
                            "per stage, e.g. --steps_per_stage=512.")
        values.append(int(text))
    if len(set(values)) > 1:
        raise UserError(f"{steps[0][0]} and {steps[1][0]}: two different "
                        "steps per stage; expected one.")
    if not values or values[0] == budget.steps_per_stage:
        return base
    return f"{base}{SEPARATOR}{values[0]}"


def step_budgets() -> list[str]:
    """The budgets that ``--steps_per_stage`` can resize."""
    return [n for n, b in BUDGETS.items() if b.steps_per_stage is not None]


def resolve(name: str) -> Budget:
    """The :class:`Budget` a name of :func:`budget_name` stands for.

    Raises:
        UserError: not such a name.
    """
    checked = budget_name(name)
    base, _, steps = checked.partition(SEPARATOR)
    budget = BUDGETS[base]
    if steps:
        budget = dataclasses.replace(budget, name=checked,
                                     steps_per_stage=int(steps))
    return budget


def describe_run(dataset: str, config: RunConfig) -> str:
    """What a (pro-VLAE) cell of ``dataset`` trains and measures, in words,
    from its configuration: e.g. "dSprites: 1,024 steps of 128 per stage on
    a 131,072-image subset, fade-in over 341 steps; metrics on a
    seeded 65,536-image subset, default estimate sizes"."""
    train, data, options = config.train, config.data, config.eval
    batch, epochs = train.batch_size, train.epochs_per_stage
    size = data.max_examples or DATASETS[dataset].grid_images
    if size:
        steps = size // batch  # the last partial batch is dropped
        training = f"{steps:,} steps of {batch} per stage"
        if epochs != 1:
            training = (f"{epochs:,} epochs of {steps:,} steps of {batch} per "
                        f"stage ({epochs * steps:,} steps)")
    else:
        training = (f"{_plural(epochs, 'epoch')} per stage in batches of "
                    f"{batch}")
    images = (f"a {data.max_examples:,}-image subset" if data.max_examples
              else f"all {size:,} images" if size else "the whole dataset")
    fade = (f"fade-in over {train.fade_in_duration:,} steps"
            if train.fade_in else "no fade-in (the dataset's recipe)")
    scored = (f"a seeded {options.eval_images:,}-image subset"
              if options.eval_images else "every image")
    return (f"{DATASET_TITLES.get(dataset, dataset)}: {training} on {images}"
            f", {fade}; metrics on {scored}, {_estimate_sizes(options)}")


def _estimate_sizes(options: EvalConfig) -> str:
    """"default estimate sizes", or the ones that differ from the defaults."""
    defaults = dataclasses.asdict(EvalConfig())
    changed = [f"{k}={v:,}" if isinstance(v, int) and not isinstance(v, bool)
               else f"{k}={v}"
               for k, v in dataclasses.asdict(options).items()
               if k != "eval_images" and defaults.get(k) != v]
    return ("default estimate sizes" if not changed
            else "estimate sizes " + ", ".join(changed))


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")
