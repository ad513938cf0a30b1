"""Generic image sources: in-memory arrays and fixed subsets."""

from __future__ import annotations

import numpy as np

from provlae_tf import random_streams
from provlae_tf.data.base import ImageSource


class ArraySource(ImageSource):
    """Images held in memory as one uint8 array (N, H, W, C)."""

    def __init__(self, name: str, images: np.ndarray, max_value: int):
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError("ArraySource needs uint8 images (N, H, W, C), "
                             f"got {images.dtype} {images.shape}")
        self.name = name
        self._images = images
        self.image_shape = tuple(images.shape[1:])
        self.max_value = max_value

    @property
    def num_examples(self) -> int:
        return len(self._images)

    def images(self, indices: np.ndarray) -> np.ndarray:
        return self._images[np.asarray(indices)]


class SubsetSource(ImageSource):
    """A fixed subset of another source, e.g. for quick runs (``--max_examples``).

    The subset is drawn once from ``seed`` and kept in canonical order.
    """

    def __init__(self, source: ImageSource, size: int, seed: int):
        self.indices = random_streams.training_subset(source.num_examples,
                                                      size, seed)
        self.source = source
        self.name = source.name
        self.image_shape = source.image_shape
        self.max_value = source.max_value

    @property
    def num_examples(self) -> int:
        return len(self.indices)

    def images(self, indices: np.ndarray) -> np.ndarray:
        return self.source.images(self.indices[np.asarray(indices)])
