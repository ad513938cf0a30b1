"""Deprecated: the recipes now live in :mod:`provlae_tf.datasets` (kept
while callers move; not part of the API)."""

from __future__ import annotations

from provlae_tf.datasets import (DATASETS, ORIGINAL_FLAG_DEFAULTS,
                                 RECIPE_FLAGS, dataset_named_by)

RECIPES = {name: dict(spec.recipe) for name, spec in DATASETS.items()}
__all__ = ["RECIPES", "RECIPE_FLAGS", "ORIGINAL_FLAG_DEFAULTS",
           "dataset_named_by"]
