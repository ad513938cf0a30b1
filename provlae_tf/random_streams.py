"""Every named random stream of provlae_tf, in one place.

Each random choice a run makes draws from its own NumPy generator, keyed by
the run's ``--seed`` and a fixed stream number, so changing what one output
draws (more images in a plot, another subsample size) never changes what any
other output draws. The numbers are part of the results' reproducibility:
never renumber an existing stream, add new ones instead.

The training step's own sampling noise is not here: it is TensorFlow's
stateless normal keyed by ``(seed, global step)`` (see the trainer).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

# --mode=2 and the stage-end images.
RECONSTRUCTIONS = 0          # which images are reconstructed
TRAVERSAL = 1                # the traversed image's sampled code
RESAMPLE_LADDER_BASE = 100   # + ladder: that ladder's prior draws
EVALUATION_SUBSET = 200      # --eval_images subset of the mean losses
# --mode=3 (one stream per metric).
METRIC_SAMPLES = 300         # the one posterior sample per image
METRIC_MIG = 301
METRIC_FACTOR = 302          # + the per-ladder part number
METRIC_HISTOGRAM = 303
METRIC_INFORMATION = 304
# The information flow recorded at every stage end.
INFORMATION_SUBSET = 400
INFORMATION_NOISE = 401
INFORMATION_QUERIES = 402


# Reference: docs/original.md#sampling-noise
def generator(seed: int, stream: int, *more: int) -> np.random.Generator:
    """The generator of one named stream (and optional sub-stream numbers)."""
    return np.random.default_rng([int(seed), int(stream), *map(int, more)])


def subset_indices(total: int, size: Optional[int], seed: int,
                   stream: int) -> np.ndarray:
    """Sorted indices of a seeded random subset of ``size`` of ``total``.

    All of them when ``size`` is None, 0 or at least ``total``.
    """
    if not size or size >= total:
        return np.arange(total)
    return np.sort(generator(seed, stream).choice(total, size, replace=False))


def training_subset(total: int, size: int, seed: int) -> np.ndarray:
    """The ``--max_examples`` subset: sorted, keyed by (seed, size)."""
    rng = np.random.default_rng([seed, size])
    return np.sort(rng.choice(total, size, replace=False))


# Reference: docs/original.md#data-order
def epoch_order(seed: int, stage: int, epoch: int,
                num_examples: int) -> np.ndarray:
    """The data order of one epoch: a permutation keyed by (seed, stage, epoch)."""
    rng = np.random.default_rng([seed, stage, epoch])
    return rng.permutation(num_examples).astype(np.int32)
