"""The interface every image dataset implements.

A dataset here is an indexable collection of uint8 images in a fixed
canonical order. Images stay uint8 in memory and become float only per batch
(see :func:`to_float`), so large datasets never exist as float32 arrays.
"""

from __future__ import annotations

import abc
import os
from typing import Callable

import numpy as np


class ImageSource(abc.ABC):
    """An indexable collection of uint8 images of one shape.

    Attributes:
        name: short dataset name, e.g. ``"dsprites"``.
        image_shape: ``(height, width, channels)`` of every image.
        max_value: the uint8 value that means intensity 1.0 (1 for binary
            dSprites, 255 for photographs). Dividing by it maps to [0, 1].
    """

    name: str
    image_shape: tuple[int, int, int]
    max_value: int

    @property
    @abc.abstractmethod
    def num_examples(self) -> int:
        """Number of images."""

    @abc.abstractmethod
    def images(self, indices: np.ndarray) -> np.ndarray:
        """Returns the images at ``indices`` as uint8 ``(n, H, W, C)``."""

    def __len__(self) -> int:
        return self.num_examples


def to_float(images_uint8: np.ndarray, max_value: int) -> np.ndarray:
    """Scales a uint8 batch to float32 in [0, 1]."""
    return images_uint8.astype(np.float32) / np.float32(max_value)


# Reference: docs/original.md#embedded-datasets
def file_or_embedded(spec, data_dir: str, read_file: Callable[[str], ImageSource],
                     embedded: Callable[[], ImageSource],
                     log: Callable[[str], None]) -> ImageSource:
    """The publisher's file ``spec.file`` under ``data_dir`` when present,
    else the embedded procedural stand-in (same factors, order and layout),
    with a notice."""
    path = os.path.join(data_dir, spec.file)
    if os.path.exists(path):
        return read_file(path)
    log(f"No {path}: using the embedded procedural {spec.title} (same "
        "factors, order and layout).")
    return embedded()
