"""Loads the images (and ground truth) of a dataset of the registry.

Which module loads a dataset, its file and its factors are facts of the
dataset's spec (:mod:`provlae_tf.datasets`). Real files under ``--data_dir``
are used when present; otherwise dSprites and 3D Shapes fall back to the
embedded procedural generators (same factors, order and layout) with a
printed notice. CelebA and MNIST need their files.
"""

from __future__ import annotations

import importlib

from provlae_tf.data.base import ImageSource
from provlae_tf.data.ground_truth import GroundTruthData
from provlae_tf.data.sources import SubsetSource
from provlae_tf.datasets import DATASETS
from provlae_tf.errors import UserError


# Reference: docs/original.md#dataset-choice
# Reference: docs/original.md#embedded-datasets
def load_source(dataset: str, data_dir: str, max_examples: int = 0,
                seed: int = 0, log=print) -> ImageSource:
    """The training images of ``dataset``.

    Args:
        dataset: a name of :data:`provlae_tf.datasets.DATASETS`.
        data_dir: directory searched for the dataset's files.
        max_examples: when > 0, a fixed seeded subset of that size.
        seed: seed of that subset.
        log: where notices go.
    """
    spec = DATASETS.get(dataset)
    if spec is None:
        raise UserError(f"--dataset={dataset}: expected one of "
                        f"{', '.join(DATASETS)}.")
    loader = importlib.import_module(f"provlae_tf.data.{spec.loader}")
    source = loader.load(data_dir, log)
    if max_examples:
        if max_examples > source.num_examples:
            raise UserError(f"--max_examples={max_examples}: expected at most "
                            f"the dataset's {source.num_examples} images.")
        source = SubsetSource(source, max_examples, seed)
    return source


def load_ground_truth(dataset: str, data_dir: str, log=print) -> GroundTruthData:
    """The whole ``dataset`` with its factors (dSprites and 3D Shapes only)."""
    spec = DATASETS.get(dataset)
    if spec is None or not spec.factorised:
        raise UserError(f"--dataset={dataset}: has no ground-truth factors; "
                        "the disentanglement metrics need dsprites or "
                        "3dshapes.")
    return GroundTruthData(load_source(dataset, data_dir, log=log),
                           spec.factor_names, spec.factor_sizes)
