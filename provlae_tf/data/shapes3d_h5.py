"""DeepMind's 3D Shapes file (``3dshapes.h5``), checked and read in chunks.

Errors follow :mod:`provlae_tf.data.file_checks`: one line naming the file.
"""

from __future__ import annotations

import os

import numpy as np

from provlae_tf.data.base import ImageSource
from provlae_tf.data.file_checks import (bad_file, check_file, check_finite,
                                         reason)
from provlae_tf.data.sources import ArraySource

_H5_CHUNK = 10_000  # images copied at a time from an h5 file
# What h5py can raise on a damaged or foreign file.
_H5_ERRORS = (OSError, KeyError, ValueError, RuntimeError, TypeError)

SHAPES3D_HINT = ("Expected DeepMind's 3dshapes.h5; replace or remove the file "
                 "(without it the embedded procedural 3D Shapes is used).")


# Reference: docs/original.md#embedded-datasets
def load_shapes3d_h5(path: str) -> ImageSource:
    """DeepMind's ``3dshapes.h5``, copied into memory as uint8 in chunks.

    Peak memory stays at the uint8 size plus one chunk (never float).
    """
    import h5py  # only needed for this file format
    hint = SHAPES3D_HINT
    count = 0
    check_file(path, hint)
    try:
        if not os.path.getsize(path):
            raise bad_file(path, "an empty file", hint)
        with h5py.File(path, "r") as f:
            dset, labels = f.get("images"), f.get("labels")
            missing = [f"'{name}'" for name, d in (("images", dset),
                                                   ("labels", labels))
                       if not isinstance(d, h5py.Dataset)]
            if missing:
                raise bad_file(path, f"no {' or '.join(missing)} dataset",
                               hint)
            if dset.dtype != np.uint8 or dset.ndim != 4 or \
                    dset.shape[1:] != (64, 64, 3):
                raise bad_file(path, f"'images' is {dset.dtype} {dset.shape}, "
                               "expected uint8 (N, 64, 64, 3)", hint)
            count = dset.shape[0]
            if not count:
                raise bad_file(path, "'images' holds no images", hint)
            if labels.shape != (dset.shape[0], 6) or \
                    labels.dtype.kind not in "fiu":
                raise bad_file(path, f"'labels' is {labels.dtype} "
                               f"{labels.shape}, expected numbers "
                               f"({dset.shape[0]}, 6)", hint)
            check_finite(path, "labels", labels[()], (dset.shape[0], 6),
                         hint)
            images = np.empty(dset.shape, np.uint8)
            for start in range(0, len(images), _H5_CHUNK):
                stop = min(start + _H5_CHUNK, len(images))
                dset.read_direct(images, np.s_[start:stop], np.s_[start:stop])
    except MemoryError:
        raise bad_file(path, f"its {count:,} images do not fit in memory",
                       "Free memory, or use a machine with more.") from None
    except _H5_ERRORS as e:
        raise bad_file(path, f"unreadable or truncated HDF5 file "
                       f"({reason(e)})", hint) from None
    return ArraySource("3dshapes", images, max_value=255)
