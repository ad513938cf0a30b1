"""Chooses the image source (and ground truth) for ``--dataset``.

Real files under ``--data_dir`` are used when present; otherwise dSprites and
3D Shapes fall back to the embedded procedural generators (same factors,
order and layout) with a printed notice. CelebA and MNIST need their files.
"""

from __future__ import annotations

import os

from provlae_tf.data import (celeba, dsprites, dsprites_npz, mnist, shapes3d,
                             shapes3d_h5)
from provlae_tf.data.base import ImageSource
from provlae_tf.data.ground_truth import GroundTruthData
from provlae_tf.data.sources import SubsetSource
from provlae_tf.errors import UserError

# Datasets with ground-truth factors: (module with FACTOR_NAMES/SIZES).
FACTORISED = {"dsprites": dsprites, "3dshapes": shapes3d}
# Datasets with an embedded stand-in: the real file's name and loader, the
# procedural source used without it, and the name the notice gives it.
_EMBEDDED = {
    "dsprites": (dsprites.NPZ_FILENAME, dsprites_npz.load_dsprites_npz,
                 dsprites.ProceduralDSprites, "dSprites"),
    "3dshapes": (shapes3d.H5_FILENAME, shapes3d_h5.load_shapes3d_h5,
                 shapes3d.ProceduralShapes3D, "3D Shapes"),
}


# Reference: docs/original.md#dataset-choice
# Reference: docs/original.md#embedded-datasets
def load_source(dataset: str, data_dir: str, max_examples: int = 0,
                seed: int = 0, log=print) -> ImageSource:
    """The training images of ``dataset``.

    Args:
        dataset: ``dsprites``, ``3dshapes``, ``celeba`` or ``mnist``.
        data_dir: directory searched for the dataset's files.
        max_examples: when > 0, a fixed seeded subset of that size.
        seed: seed of that subset.
        log: where notices go.
    """
    if dataset in _EMBEDDED:
        source = _file_or_embedded(dataset, data_dir, log)
    elif dataset == "celeba":
        source = celeba.load_celeba(data_dir, log)
    elif dataset == "mnist":
        source = mnist.load_mnist(data_dir, log)
    else:
        raise UserError(f"--dataset={dataset}: expected one of dsprites, "
                        "3dshapes, celeba, mnist.")
    if max_examples:
        if max_examples > source.num_examples:
            raise UserError(f"--max_examples={max_examples}: expected at most "
                            f"the dataset's {source.num_examples} images.")
        source = SubsetSource(source, max_examples, seed)
    return source


def load_ground_truth(dataset: str, data_dir: str, log=print) -> GroundTruthData:
    """The whole ``dataset`` with its factors (dSprites and 3D Shapes only)."""
    module = FACTORISED.get(dataset)
    if module is None:
        raise UserError(f"--dataset={dataset}: has no ground-truth factors; "
                        "the disentanglement metrics need dsprites or "
                        "3dshapes.")
    return GroundTruthData(load_source(dataset, data_dir, log=log),
                           module.FACTOR_NAMES, module.FACTOR_SIZES)


def _file_or_embedded(dataset: str, data_dir: str, log) -> ImageSource:
    filename, load_file, embedded, title = _EMBEDDED[dataset]
    path = os.path.join(data_dir, filename)
    if os.path.exists(path):
        return load_file(path)
    log(f"No {path}: using the embedded procedural {title} (same factors, "
        "order and layout).")
    return embedded()

