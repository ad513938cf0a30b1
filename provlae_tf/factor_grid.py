"""A complete factor grid in canonical (C) order: index <-> factor classes.

Shared by the factorised datasets (dSprites, 3D Shapes), the ground-truth
API and the metrics' synthetic grids: image ``i`` of such a dataset shows
the factor combination ``unravel_index(i, factor_sizes)``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def classes_of(indices, factor_sizes: Sequence[int]) -> np.ndarray:
    """Factor classes ``(n, F)`` int64 of dataset ``indices``."""
    flat = np.asarray(indices, dtype=np.int64).reshape(-1)
    return np.stack(np.unravel_index(flat, tuple(factor_sizes)), axis=1)


def indices_of(classes, factor_sizes: Sequence[int]) -> np.ndarray:
    """Dataset indices ``(n,)`` int64 of factor ``classes`` ``(n, F)``."""
    classes = np.asarray(classes, dtype=np.int64).reshape(-1, len(factor_sizes))
    indices = np.ravel_multi_index(tuple(classes.T), tuple(factor_sizes))
    return indices.astype(np.int64)


def values_of(classes, factor_values: Sequence[np.ndarray]) -> np.ndarray:
    """Factor values ``(n, F)`` float64 of ``classes``: column ``k`` is
    ``factor_values[k][classes[:, k]]``."""
    classes = np.asarray(classes, dtype=np.int64).reshape(-1,
                                                          len(factor_values))
    return np.stack([values[classes[:, k]] for k, values
                     in enumerate(factor_values)], axis=1)


def all_classes(factor_sizes: Sequence[int]) -> np.ndarray:
    """Every factor combination in canonical order, ``(prod(sizes), F)``."""
    return classes_of(np.arange(int(np.prod(factor_sizes))), factor_sizes)


def sample_classes(factor_sizes: Sequence[int], num: int,
                   rng: np.random.Generator) -> np.ndarray:
    """``num`` uniformly random factor combinations ``(num, F)``."""
    return np.stack([rng.integers(size, size=num) for size in factor_sizes],
                    axis=1)
