"""The original training recipes, one per dataset, by flag name.

``--dataset=X`` alone trains recipe X: every flag of the recipe that the
command line (or a flagfile) does not set takes the recipe's value. The
values are those of the original's training scripts, including what those
scripts leave to the original's own defaults (its 3D Shapes lines give no
``-fadein``, and its default is off). ``flags/<dataset>.cfg`` spell the same
values out; a test keeps the two in agreement.
"""

from __future__ import annotations

from typing import Optional

# Reference: docs/original.md#recipes
RECIPES = {
    "dsprites": {"z_dim": 2, "beta": 1.0, "KL": True, "coff": 0.5,
                 "fadein": True, "epoch_size": 30, "batch_size": 128},
    "3dshapes": {"z_dim": 3, "beta": 8.0, "KL": True, "coff": 0.5,
                 "fadein": False, "epoch_size": 15, "batch_size": 100},
    "celeba": {"z_dim": 7, "beta": 1.0, "KL": True, "coff": 0.1,
               "fadein": True, "epoch_size": 5, "batch_size": 128},
    # The original has no MNIST recipe: the dSprites values (documented).
    "mnist": {"z_dim": 2, "beta": 1.0, "KL": True, "coff": 0.5,
              "fadein": True, "epoch_size": 30, "batch_size": 128},
}
RECIPE_FLAGS = tuple(RECIPES["dsprites"])

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
