"""Every named random stream of provlae_tf, in one place.

Each random choice a run makes draws from its own NumPy generator, keyed by
the run's ``--seed``, a fixed stream number from this module and the
stream's own sub-numbers (a ladder, a stage and an epoch, a subset size), so
changing what one output draws (more images in a plot, another subsample
size) never changes what any other output draws.

The key of a draw is ``[seed, stream, len(more), *more]`` (:func:`key`).
Two different draws never share a key: NumPy's ``SeedSequence`` reads each
part as one 32-bit word (parts are checked to fit) and pads a key shorter
than its four-word pool with zero words, so only keys of different lengths
could coincide, and those differ in their length word. Without that word,
``[seed, 1]`` and ``[seed, 1, 0]`` were the same key.

The numbers are part of the results' reproducibility: never renumber an
existing stream, add new ones instead. The scheme itself was changed once,
on purpose: before it, the data order was keyed ``[seed, stage, epoch]``
(epoch 0 of stage 1 drew the numbers of the traversal stream) and the
``--max_examples`` subset ``[seed, size]`` (``--max_examples=300`` drew the
numbers of the metric-sample stream). Every stream's numbers changed then;
keep them from now on.

The training step's own sampling noise is not here: it is TensorFlow's
stateless normal keyed by ``(seed, global step)`` (see the trainer).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

# --mode=2 and the stage-end images.
RECONSTRUCTIONS = 0          # which images are reconstructed
TRAVERSAL = 1                # the traversed image's sampled code
RESAMPLE_LADDER = 100        # sub-number: the ladder; its prior draws
EVALUATION_SUBSET = 200      # --eval_images subset of the mean losses
# --mode=3 (one stream per metric).
METRIC_SAMPLES = 300         # the one posterior sample per image
METRIC_MIG = 301
METRIC_FACTOR = 302          # sub-number: the per-ladder part number
METRIC_HISTOGRAM = 303
METRIC_INFORMATION = 304
# The information flow recorded at every stage end.
INFORMATION_SUBSET = 400
INFORMATION_NOISE = 401
INFORMATION_QUERIES = 402
# Training data.
DATA_ORDER = 500             # sub-numbers: stage, epoch
TRAINING_SUBSET = 501        # sub-number: the --max_examples size

# NumPy's SeedSequence reads an int below 2**32 as one word; a larger one
# would spill into the next part's place and break the one-key-per-draw rule.
_WORD = 2 ** 32


def key(seed: int, stream: int, *more: int) -> list[int]:
    """The seed key of one stream (and its sub-numbers): ``[seed, stream,
    len(more), *more]``, each part in ``[0, 2**32)``."""
    parts = [int(seed), int(stream), len(more), *map(int, more)]
    if not all(0 <= part < _WORD for part in parts):
        raise ValueError(f"random stream key parts must be in [0, 2**32), "
                         f"got {parts}")
    return parts


# Reference: docs/original.md#sampling-noise
def generator(seed: int, stream: int, *more: int) -> np.random.Generator:
    """The generator of one named stream (and optional sub-stream numbers)."""
    return np.random.default_rng(key(seed, stream, *more))


def subset_indices(total: int, size: Optional[int], seed: int,
                   stream: int) -> np.ndarray:
    """Sorted indices of a seeded random subset of ``size`` of ``total``.

    All of them when ``size`` is None, 0 or at least ``total``.
    """
    if not size or size >= total:
        return np.arange(total)
    return np.sort(generator(seed, stream).choice(total, size, replace=False))


def training_subset(total: int, size: int, seed: int) -> np.ndarray:
    """The ``--max_examples`` subset: ``size`` sorted indices of ``total``,
    without repeats, keyed by (seed, size)."""
    rng = generator(seed, TRAINING_SUBSET, size)
    return np.sort(rng.choice(total, size, replace=False))


# Reference: docs/original.md#data-order
def epoch_order(seed: int, stage: int, epoch: int,
                num_examples: int) -> np.ndarray:
    """The data order of one epoch: a permutation keyed by (seed, stage, epoch)."""
    rng = generator(seed, DATA_ORDER, stage, epoch)
    return rng.permutation(num_examples).astype(np.int32)
