"""Deprecated: names that now live in :mod:`provlae_tf.datasets` and
:mod:`provlae_tf.config` (kept while callers move; not part of the API)."""

from __future__ import annotations

from provlae_tf.config.sections import (ARCHITECTURES, BN_EPSILON, MAX_Z_DIM,
                                        MODE_NAMES, MODELS, NUM_LADDERS)
from provlae_tf.datasets import DATASETS as _SPECS

CHANNELS = {name: spec.channels for name, spec in _SPECS.items()}
DATASETS = tuple(_SPECS)
FACTORISED_DATASETS = tuple(n for n, s in _SPECS.items() if s.factorised)
GRID_IMAGES = {n: s.grid_images for n, s in _SPECS.items() if s.factorised}
DEFAULT_ARCHITECTURE = {n: s.architecture for n, s in _SPECS.items()}
MODES = (*MODE_NAMES, *MODE_NAMES.values())
RESTORE_MODES = ("strict", "optimistic")
