"""The original training recipes, one per dataset, by flag name.

``--dataset=X`` alone trains recipe X: every flag of the recipe that the
command line (or a flagfile) does not set takes the recipe's value. The
values are those of the original's training scripts, including what those
scripts leave to the original's own defaults (its 3D Shapes lines give no
``-fadein``, and its default is off). ``flags/<dataset>.cfg`` spell the same
values out; a test keeps the two in agreement.
"""

from __future__ import annotations

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
