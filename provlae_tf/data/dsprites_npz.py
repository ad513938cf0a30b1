"""DeepMind's dSprites file (``dsprites_ndarray_...64x64.npz``), checked.

Errors follow :mod:`provlae_tf.data.file_checks`: one line naming the file.
"""

from __future__ import annotations

import numpy as np

from provlae_tf.data.base import ImageSource
from provlae_tf.data.file_checks import (bad_file, check_finite, describe,
                                         read_npz)
from provlae_tf.data.sources import ArraySource

DSPRITES_HINT = ("Expected DeepMind's dSprites npz; replace or remove the "
                 "file (without it the embedded procedural dSprites is used).")


# Reference: docs/original.md#embedded-datasets
def load_dsprites_npz(path: str) -> ImageSource:
    """DeepMind's ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``.

    Read with ``allow_pickle=False``: the pickled ``metadata`` is never loaded.
    """
    hint = DSPRITES_HINT
    arrays = read_npz(path, ("imgs", "latents_classes", "latents_values"),
                      hint)
    missing = {"imgs", "latents_classes"} - set(arrays)
    if missing:
        raise bad_file(path, f"no {', '.join(sorted(missing))} array", hint)
    images, classes = arrays["imgs"], arrays["latents_classes"]
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or \
            images.ndim != 3 or images.shape[1:] != (64, 64):
        raise bad_file(path, f"'imgs' is {describe(images)}, expected "
                       "uint8 (N, 64, 64)", hint)
    if not len(images):
        raise bad_file(path, "'imgs' holds no images", hint)
    if images.max() > 1:
        raise bad_file(path, f"'imgs' has values up to {images.max()}, "
                       "expected binary 0/1 pixels", hint)
    if not isinstance(classes, np.ndarray) or classes.dtype.kind not in "iu" \
            or classes.shape != (len(images), 6):
        raise bad_file(path, f"'latents_classes' is {describe(classes)}, "
                       f"expected integers ({len(images)}, 6)", hint)
    if "latents_values" in arrays:
        check_finite(path, "latents_values", arrays["latents_values"],
                     (len(images), 6), hint)
    return ArraySource("dsprites", images[..., None], max_value=1)
