"""Per-ladder resampling (the original's mode 2).

For ladder l, every cell of an 8x8 grid decodes one image's code with ladder
l's z redrawn from the prior N(0, I) (``distributions.prior``, seeded from
the ladder's random stream); the other ladders keep the image's code, so the
64 cells differ only in ladder l. What a ladder controls shows as what
varies across its grid.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from provlae_tf import distributions, random_streams
from provlae_tf.viz import encode_decode
from provlae_tf.viz import images as images_lib

GRID_SIZE = 8


# Reference: docs/original.md#resampling
def resampling_codes(base: Sequence[np.ndarray], ladder: int,
                     rng: np.random.Generator,
                     count: int = GRID_SIZE * GRID_SIZE) -> list:
    """The decoder input for resampling ``ladder``.

    Args:
        base: one image's code: per ladder (ladder 1 first) a ``(z_dim,)``
            array.
        ladder: the ladder to redraw, 1..L.
        rng: the stream that seeds the prior draws (one stateless seed
            pair, :func:`provlae_tf.distributions.sample_prior`).
        count: number of cells.

    Returns:
        Per ladder (ladder 1 first) a ``(count, z_dim)`` float32 array: the
        base code repeated, except ``ladder``'s rows drawn from N(0, I).
    """
    if not 1 <= ladder <= len(base):
        raise ValueError(f"ladder must be in 1..{len(base)}, got {ladder}")
    batch = [np.repeat(np.asarray(c, np.float32)[None], count, axis=0)
             for c in base]
    batch[ladder - 1] = distributions.sample_prior(
        batch[ladder - 1].shape[1], count, rng)
    return batch


def resample_ladder(model, base: Sequence[np.ndarray], ladder: int,
                    rng: np.random.Generator, pad: int = 2) -> np.ndarray:
    """The 8x8 grid image for one ladder (alpha 1, the model's stage)."""
    decoded = encode_decode.decode_images(
        model, resampling_codes(base, ladder, rng))
    return images_lib.grid(decoded, GRID_SIZE, GRID_SIZE, pad)


# Reference: docs/original.md#resampling
def resample_all(model, base: Sequence[np.ndarray], seed: int,
                 pad: int = 2) -> dict:
    """``{ladder: grid image}`` for every ladder 1..L.

    Each ladder draws from its own stream (``RESAMPLE_LADDER``, sub-number
    the ladder), so a ladder's grid does not depend on the others.
    """
    return {ladder: resample_ladder(
                model, base, ladder, random_streams.generator(
                    seed, random_streams.RESAMPLE_LADDER, ladder), pad)
            for ladder in range(1, model.num_ladders + 1)}


def write_resampling(grids: dict, out_dir: str,
                     prefix: str = "resample") -> dict:
    """Writes ``<prefix>_ladder<l>.png`` per ladder.

    Returns:
        ``{file name: path}``.
    """
    paths = {}
    for ladder, image in sorted(grids.items()):
        name = f"{prefix}_ladder{ladder}.png"
        paths[name] = images_lib.save_png(os.path.join(out_dir, name), image)
    return paths
