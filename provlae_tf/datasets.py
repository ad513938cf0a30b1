"""The dataset registry: one spec per dataset, and the original's recipes.

Everything provlae_tf knows about a dataset is here: its images (size,
channels), its ground-truth factors, the network it trains by default, the
original's training recipe, the file it is read from and the module that
loads it. Every other module asks this registry instead of keeping its own
table, so a fact changes in one place.

The recipes are the values of the original's training scripts, including
what those scripts leave to the original's own flag defaults (its 3D Shapes
lines give no ``-fadein``, and its default is off). ``--dataset=X`` alone
trains recipe X: every recipe flag that the command line (or a flagfile)
does not set takes the recipe's value.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Optional

# Every image is IMAGE_SIZE x IMAGE_SIZE (the networks' input and output).
IMAGE_SIZE = 64
# The recipe flags, by the original's flag names.
RECIPE_FLAGS = ("z_dim", "beta", "KL", "coff", "fadein", "epoch_size",
                "batch_size")


# Reference: docs/original.md#dataset-choice
@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What provlae_tf knows about one dataset.

    Attributes:
        name: the ``--dataset`` value.
        title: the name people use, for messages.
        channels: image channels (1 grey, 3 colour).
        architecture: the network ``--architecture=auto`` picks.
        recipe: ``{flag name: value}`` of every :data:`RECIPE_FLAGS`.
        loader: the module of :mod:`provlae_tf.data` whose ``load(data_dir,
            log)`` returns the dataset's images.
        file: the publisher's file name under ``--data_dir`` ("" for a
            folder or several files).
        factor_names: ground-truth factors in the publisher's order (empty
            when the dataset has none).
        factor_sizes: the number of values of each factor; the dataset is
            the full grid of their combinations in C order.
        image_size: height and width of the images.
    """

    name: str
    title: str
    channels: int
    architecture: str
    recipe: Mapping[str, Any]
    loader: str
    file: str = ""
    factor_names: tuple = ()
    factor_sizes: tuple = ()
    image_size: int = IMAGE_SIZE

    @property
    def factorised(self) -> bool:
        """Whether the dataset has ground-truth factors (the metrics need
        them)."""
        return bool(self.factor_names)

    @property
    def grid_images(self) -> Optional[int]:
        """The number of images of a factor grid (None without factors)."""
        return math.prod(self.factor_sizes) if self.factorised else None


# Reference: docs/original.md#recipes
_DSPRITES_RECIPE = {"z_dim": 2, "beta": 1.0, "KL": True, "coff": 0.5,
                    "fadein": True, "epoch_size": 30, "batch_size": 128}

# Reference: docs/original.md#recipes
DATASETS = {spec.name: spec for spec in (
    DatasetSpec(
        "dsprites", "dSprites", channels=1, architecture="small",
        recipe=_DSPRITES_RECIPE, loader="dsprites",
        file="dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
        factor_names=("color", "shape", "scale", "orientation", "posX",
                      "posY"),
        factor_sizes=(1, 3, 6, 40, 32, 32)),
    DatasetSpec(
        "3dshapes", "3D Shapes", channels=3, architecture="small",
        recipe={"z_dim": 3, "beta": 8.0, "KL": True, "coff": 0.5,
                "fadein": False, "epoch_size": 15, "batch_size": 100},
        loader="shapes3d", file="3dshapes.h5",
        factor_names=("floor_hue", "wall_hue", "object_hue", "scale",
                      "shape", "orientation"),
        factor_sizes=(10, 10, 10, 8, 4, 15)),
    DatasetSpec(
        "celeba", "CelebA", channels=3, architecture="celeba",
        recipe={"z_dim": 7, "beta": 1.0, "KL": True, "coff": 0.1,
                "fadein": True, "epoch_size": 5, "batch_size": 128},
        loader="celeba"),
    # The original has no MNIST recipe: the dSprites values (documented).
    DatasetSpec(
        "mnist", "MNIST", channels=1, architecture="small",
        recipe=_DSPRITES_RECIPE, loader="mnist"),
)}
DATASET_NAMES = tuple(DATASETS)


def spec(name: str) -> DatasetSpec:
    """The spec of dataset ``name`` (KeyError naming the known ones)."""
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; expected one of "
                       f"{', '.join(DATASETS)}") from None


# Reference: docs/original.md#recipes
# The original's own flag defaults (its main.py), which apply where a
# recipe is silent: its visualisation and metric scripts set no batch size,
# so their dataset-mean losses run in batches of 100 whatever the dataset.
ORIGINAL_FLAG_DEFAULTS = {
    "epoch_size": 15, "batch_size": 100, "beta": 1.0, "learning_rate": 5e-4,
    "train_seq": 3, "KL": False, "fadein": False, "coff": 0.5,
    "gpu_usage": 1.0, "z_dim": 3, "mode": 3}


# Reference: docs/original.md#dataset-choice
def dataset_named_by(checkpoint_dir: str) -> Optional[str]:
    """The dataset the original picks from its ``checkpoint_dir``, if any.

    The original has no dataset flag: "Celeb" anywhere in the path selects
    CelebA (and its network), "3dshape" 3D Shapes; any other path means
    dSprites, its default, for which this returns None (no opinion), so
    that the caller's own default or guess applies. Case-sensitive, as the
    original's test is.
    """
    if "Celeb" in checkpoint_dir:
        return "celeba"
    if "3dshape" in checkpoint_dir:
        return "3dshapes"
    return None
