"""Both sides continue one checkpoint for several training steps.

``python -m provlae_tf.compare --continue_steps=N``: the original's graph
(its own ``partial_fit``, in the child process) and our training step start
from the same checkpoint at stage ``--train_seq`` and take the same N steps:
the same batches (of ``--dataset`` or random binary ones, seeded), the same
noise, the stage's fade-in counter from 0. The table shows each step's total
loss on both sides (before the step, as ``partial_fit`` fetches it) and the
first step at which either becomes NaN or infinite: whether a divergence of
ours is the original's too.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Callable, Optional, Sequence

import numpy as np

from provlae_tf.compare import spec
from provlae_tf.compare.child import OriginalProcess
from provlae_tf.compare.runner import dataset_images


@dataclasses.dataclass(frozen=True)
class StepRow:
    """One step: the fade-in alpha both sides used and each side's total
    loss before the step."""

    step: int          # 1-based
    alpha: float
    original: float
    ours: float

    @property
    def relative(self) -> float:
        """|ours - original| / |original|: 0 when both are equal, inf when
        only one is finite, NaN when neither is."""
        if self.ours == self.original:
            return 0.0
        finite = math.isfinite(self.ours) + math.isfinite(self.original)
        if finite < 2:
            return math.inf if finite else math.nan
        return abs(self.ours - self.original) / max(abs(self.original),
                                                    np.finfo(np.float32).tiny)


def make_batches(network: spec.Network, stage: int, steps: int, batch: int,
                 seed: int, dataset: Optional[str] = None,
                 data_dir: str = "data",
                 log: Callable[[str], None] = print) -> dict:
    """``steps`` seeded batches (``x``) and their noise (``eps<l>``).

    The images are ``dataset``'s (through our loaders, indices drawn
    without replacement per batch) or random binary ones.
    """
    if dataset is None:
        images = [spec.random_images(batch, network.channels, seed,
                                     (stage, i)) for i in range(steps)]
    else:
        source = dataset_images(dataset, network, data_dir, log)
        rng = np.random.default_rng([seed, stage])
        images = [source(rng, batch) for _ in range(steps)]
    noise = [spec.random_noise(batch, network, seed, (stage, i))
             for i in range(steps)]
    return {"x": np.stack(images), **{
        f"eps{l}": np.stack([e[l - 1] for e in noise])
        for l in range(1, network.num_ladders + 1)}}


def continue_both(original_code: str, checkpoint, stage: int,
                  recipe: spec.Recipe, batches: dict, workdir: str,
                  restore: str = "strict", rewrites: bool = True,
                  exact_zero_branches: bool = False) -> list[StepRow]:
    """Both sides take the steps of ``batches`` from ``checkpoint`` (a
    :class:`~provlae_tf.compare.runner.Checkpoint`) at ``stage``."""
    from provlae_tf.compare.ours import OurSide
    path = spec.save_arrays(os.path.join(workdir, "batches.npz"), batches)
    with OriginalProcess(original_code, workdir) as original:
        original.call("build", original_code=os.path.abspath(original_code),
                      network=dataclasses.asdict(checkpoint.network),
                      recipe=dataclasses.asdict(recipe), stage=stage, seed=0,
                      rewrites=rewrites,
                      initialise=restore == "optimistic")
        original.call("restore", prefix=checkpoint.prefix, mode=restore)
        theirs = spec.load_arrays(original.call(
            "train", batches=path,
            out=os.path.join(workdir, "original_steps.npz"))["file"])
    ours = OurSide(checkpoint.model_config, recipe, exact_zero_branches)
    ours.load(checkpoint, restore)
    mine = ours.train(batches, theirs["fade_in"], stage)
    # The alpha both sides used: the original feeds its fade-in counter
    # always, but without fade-in its graph has no fade multiplications.
    alphas = [ours.alpha(a) for a in theirs["fade_in"]]
    return step_rows(alphas, theirs["loss"], mine["loss"])


def step_rows(alphas: Sequence[float], original: Sequence[float],
              ours: Sequence[float]) -> list[StepRow]:
    """Rows from the per-step alphas and total losses of both sides."""
    return [StepRow(i + 1, float(a), float(o), float(m))
            for i, (a, o, m) in enumerate(zip(alphas, original, ours))]


def first_non_finite(values: Sequence[float]) -> Optional[int]:
    """The 1-based step of the first NaN or infinite value, or None."""
    for i, value in enumerate(values):
        if not math.isfinite(value):
            return i + 1
    return None


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What the rows say: where each side stopped being finite, the largest
    relative difference while both were finite, and whether they agree."""

    original_diverged_at: Optional[int]
    ours_diverged_at: Optional[int]
    largest: float
    largest_at: Optional[int]
    passed: bool


def verdict(rows: Sequence[StepRow], tolerance: float) -> Verdict:
    """Passed: both sides become non-finite at the same step (or neither
    does) and, before it, every step's losses are within ``tolerance``."""
    theirs = first_non_finite([r.original for r in rows])
    mine = first_non_finite([r.ours for r in rows])
    finite = [r for r in rows if math.isfinite(r.original)
              and math.isfinite(r.ours)]
    worst = max(finite, key=lambda r: r.relative, default=None)
    largest = worst.relative if worst else 0.0
    return Verdict(theirs, mine, largest, worst.step if worst else None,
                   theirs == mine and largest <= tolerance)


def format_rows(rows: Sequence[StepRow]) -> str:
    """The per-step table (every step up to the second non-finite one)."""
    lines = [f"{'step':>5} {'alpha':>6} {'original loss':>15} "
             f"{'our loss':>15} {'relative':>9}"]
    bad = 0
    for r in rows:
        lines.append(f"{r.step:>5} {r.alpha:>6.3g} {r.original:>15.8g} "
                     f"{r.ours:>15.8g} {r.relative:>9.2g}")
        bad += not (math.isfinite(r.original) and math.isfinite(r.ours))
        if bad == 2 and r.step < len(rows):
            lines.append(f"(steps {r.step + 1}..{len(rows)} not shown)")
            break
    return "\n".join(lines)


def describe(result: Verdict, steps: int, tolerance: float) -> str:
    """One paragraph: where each side diverged and whether they agree."""
    def where(step):
        return (f"non-finite from step {step}" if step is not None
                else f"finite for all {steps} steps")
    text = (f"Original: {where(result.original_diverged_at)}; ours: "
            f"{where(result.ours_diverged_at)}. Largest relative "
            f"difference of the total loss while both were finite: "
            f"{result.largest:.2g}")
    if result.largest_at is not None:
        text += f" (step {result.largest_at})"
    text += f"; tolerance {tolerance:g}. "
    return text + ("The two sides agree." if result.passed
                   else "The two sides DIFFER.")
