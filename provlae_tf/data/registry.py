"""Chooses the image source for ``--dataset``.

dSprites: DeepMind's npz under ``data_dir`` when present, otherwise the
embedded procedural generator (same factor grid, order and layout).
"""

from __future__ import annotations

import os

import numpy as np

from provlae_tf.data import dsprites
from provlae_tf.data.base import ImageSource
from provlae_tf.data.sources import ArraySource, SubsetSource
from provlae_tf.errors import UserError


def load_source(dataset: str, data_dir: str, max_examples: int = 0,
                seed: int = 0, log=print) -> ImageSource:
    """The training images of ``dataset``.

    Args:
        dataset: ``dsprites`` (others: see data/README.md).
        data_dir: directory searched for the dataset's file.
        max_examples: when > 0, a fixed seeded subset of that size.
        seed: seed of that subset.
        log: where notices go.
    """
    if dataset == "dsprites":
        source = _dsprites(data_dir, log)
    else:
        raise UserError(
            f"--dataset={dataset}: this version trains on dsprites only "
            "(the loaders for 3dshapes, celeba and mnist are not in yet).")
    if max_examples:
        if max_examples > source.num_examples:
            raise UserError(f"--max_examples={max_examples}: expected at most "
                            f"the dataset's {source.num_examples} images.")
        source = SubsetSource(source, max_examples, seed)
    return source


def _dsprites(data_dir: str, log) -> ImageSource:
    path = os.path.join(data_dir, dsprites.NPZ_FILENAME)
    if not os.path.exists(path):
        log(f"No {path}: using the embedded procedural dSprites "
            "(same factors, order and layout).")
        return dsprites.ProceduralDSprites()
    try:
        with np.load(path, allow_pickle=False) as f:
            images = f["imgs"]
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"{path}: expected DeepMind's dSprites npz with an "
                        f"'imgs' array ({e}). Replace the file or remove it "
                        "to use the embedded dSprites.") from None
    if images.shape != (dsprites.NUM_IMAGES, 64, 64) or images.dtype != np.uint8:
        raise UserError(f"{path}: 'imgs' is {images.dtype} {images.shape}, "
                        f"expected uint8 ({dsprites.NUM_IMAGES}, 64, 64).")
    return ArraySource("dsprites", images[..., None], max_value=1)
