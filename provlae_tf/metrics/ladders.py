"""Metrics per ladder: the latent columns of one ladder of a concatenated code.

Codes are concatenated ladder 1 (the bottom) first, ``z_dim`` columns per
ladder, ``K = num_ladders * z_dim`` columns in all, as in the original's
metric code.

Reference: docs/original.md#per-ladder-mig
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


# Reference: docs/original.md#per-ladder-mig
def ladder_columns(ladder: int, z_dim: int, num_ladders: int) -> np.ndarray:
    """Column indices of ``ladder`` (1 = bottom .. ``num_ladders`` = top)."""
    if not 1 <= ladder <= num_ladders:
        raise ValueError(f"ladder must be in 1..{num_ladders}, got {ladder}")
    return np.arange((ladder - 1) * z_dim, ladder * z_dim)


def select_ladder(array: np.ndarray, ladder: int, z_dim: int,
                  num_ladders: int) -> np.ndarray:
    """``array[:, columns of ladder]`` (axis 1 holds the ``K`` latents)."""
    array = np.asarray(array)
    if array.shape[1] != z_dim * num_ladders:
        raise ValueError(f"expected {z_dim * num_ladders} latent columns, "
                         f"got {array.shape[1]}")
    return array[:, ladder_columns(ladder, z_dim, num_ladders)]


def per_ladder(metric: Callable, arrays: Sequence[np.ndarray], z_dim: int,
               num_ladders: int) -> dict:
    """``{ladder: metric(*arrays restricted to the ladder's columns)}``.

    Example: ``per_ladder(lambda s, p: estimate_mig(s, p, factors, sizes,
    rng=rng).mig, (samples, params), z_dim=2, num_ladders=3)``.
    """
    return {ladder: metric(*(select_ladder(a, ladder, z_dim, num_ladders)
                             for a in arrays))
            for ladder in range(1, num_ladders + 1)}
