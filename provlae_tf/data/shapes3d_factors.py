"""3D Shapes' factors: names, sizes, values and the canonical (C) order.

DeepMind's file holds every combination of (floor hue 10, wall hue 10,
object hue 10, scale 8, shape 4, orientation 15) once, orientation varying
fastest. The procedural renderer and the ground-truth API share these
definitions; :mod:`provlae_tf.data.shapes3d` re-exports them.
"""

from __future__ import annotations

import numpy as np

from provlae_tf import factor_grid
from provlae_tf.datasets import DATASETS, IMAGE_SIZE as SIZE  # noqa: F401

# The dataset's facts live in the registry (provlae_tf.datasets).
SPEC = DATASETS["3dshapes"]
FACTOR_NAMES, FACTOR_SIZES = SPEC.factor_names, SPEC.factor_sizes
NUM_IMAGES = SPEC.grid_images
H5_FILENAME = SPEC.file


def factor_values() -> tuple[np.ndarray, ...]:
    """The value of every class of every factor, in ``FACTOR_NAMES`` order."""
    hues = np.linspace(0, 0.9, 10)
    return (hues, hues.copy(), hues.copy(), np.linspace(0.75, 1.25, 8),
            np.arange(4.0), np.linspace(-30, 30, 15))


def latents_classes(indices: np.ndarray) -> np.ndarray:
    """Factor classes ``(n, 6)`` int64 of dataset ``indices`` (C order)."""
    return factor_grid.classes_of(indices, FACTOR_SIZES)


def latents_values(classes: np.ndarray) -> np.ndarray:
    """Factor values ``(n, 6)`` float64 of factor ``classes`` ``(n, 6)``."""
    return factor_grid.values_of(classes, factor_values())


def index_from_classes(classes: np.ndarray) -> np.ndarray:
    """Dataset indices ``(n,)`` int64 of factor ``classes`` ``(n, 6)``."""
    return factor_grid.indices_of(classes, FACTOR_SIZES)
