"""Ground-truth factors of the factorised datasets (dSprites, 3D Shapes).

Follows disentanglement_lib's ``GroundTruthData`` conventions: factor names
and sizes, index <-> factors in the canonical (C) order, ``sample_factors``
and ``sample_observations_from_factors`` with an explicit random generator.
The metrics use it; it works on the real files and the procedural stand-ins
alike, since both keep the publishers' order.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from provlae_tf import factor_grid
from provlae_tf.data.base import ImageSource, to_float
from provlae_tf.errors import UserError


class GroundTruthData:
    """A dataset whose image ``i`` shows the factor combination ``i`` (C order).

    Args:
        source: the images, in canonical factor order.
        factor_names: one name per factor, slowest-varying first.
        factor_sizes: number of values of each factor.
    """

    def __init__(self, source: ImageSource, factor_names: Sequence[str],
                 factor_sizes: Sequence[int]):
        expected = int(np.prod(factor_sizes))
        if source.num_examples != expected:
            raise UserError(
                f"{source.name}: {source.num_examples} images, but the factor "
                f"grid {tuple(factor_sizes)} has {expected}; ground-truth "
                "metrics need the complete dataset in its original order.")
        self.source = source
        self.factor_names = tuple(factor_names)
        self.factor_sizes = tuple(int(s) for s in factor_sizes)

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return self.source.image_shape

    def index_to_factors(self, indices) -> np.ndarray:
        """Factor classes ``(n, F)`` of dataset indices."""
        return factor_grid.classes_of(indices, self.factor_sizes)

    def factors_to_index(self, factors) -> np.ndarray:
        """Dataset indices ``(n,)`` of factor classes ``(n, F)``."""
        return factor_grid.indices_of(factors, self.factor_sizes)

    def all_factors(self) -> np.ndarray:
        """Factor classes of every image, in dataset order ``(N, F)``."""
        return factor_grid.all_classes(self.factor_sizes)

    def sample_factors(self, num: int, rng: np.random.Generator) -> np.ndarray:
        """``num`` uniformly random factor combinations ``(num, F)``."""
        return factor_grid.sample_classes(self.factor_sizes, num, rng)

    def sample_observations_from_factors(self, factors,
                                         rng: np.random.Generator) -> np.ndarray:
        """Float images in [0, 1] of the given factors (``rng`` unused: one
        image per combination)."""
        del rng
        indices = self.factors_to_index(factors)
        return to_float(self.source.images(indices), self.source.max_value)

    def sample(self, num: int, rng: np.random.Generator):
        """Random factors and their images."""
        factors = self.sample_factors(num, rng)
        return factors, self.sample_observations_from_factors(factors, rng)
