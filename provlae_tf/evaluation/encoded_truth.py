"""The ground truth as the metrics see it after encoding: dataset indices in
place of images, codes looked up from the encoded dataset.

The factor metric and the histogram MIG ask a ground truth for factors,
for observations of given factors and for a representation function.
:class:`EncodedGroundTruth` answers with dataset indices and the encoded
means of those rows, so no image is encoded twice;
:class:`EncodedSubsetGroundTruth` does the same on the seeded random subset
of ``--eval_images``, drawing everything from the subset's images.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from provlae_tf import factor_grid
from provlae_tf.errors import UserError


class EncodedGroundTruth:
    """The ground truth with dataset indices standing in for observations.

    Only the factors with more than one value are exposed (dSprites' constant
    colour is not), as disentanglement_lib does; ``represent(indices)``
    returns the encoded means of those rows, so the factor metric and the
    histogram MIG run on the encoded dataset.

    Args:
        ground_truth: a :class:`~provlae_tf.data.ground_truth.GroundTruthData`.
        means: ``(N, K)`` encoded means of every image, in dataset order.
    """

    def __init__(self, ground_truth, means: np.ndarray):
        self.ground_truth = ground_truth
        self.varying = tuple(k for k, size in enumerate(
            ground_truth.factor_sizes) if size > 1)
        self.factor_names = tuple(ground_truth.factor_names[k]
                                  for k in self.varying)
        self.factor_sizes = tuple(ground_truth.factor_sizes[k]
                                  for k in self.varying)
        self.means = means

    def sample_factors(self, num: int, rng: np.random.Generator) -> np.ndarray:
        return factor_grid.sample_classes(self.factor_sizes, num, rng)

    def sample_observations_from_factors(self, factors: np.ndarray,
                                         rng: np.random.Generator
                                         ) -> np.ndarray:
        """Dataset indices of the factors (the constant ones at class 0)."""
        del rng
        full = np.zeros((len(factors), self.ground_truth.num_factors),
                        np.int64)
        full[:, self.varying] = factors
        return self.ground_truth.factors_to_index(full)

    def represent(self, columns: np.ndarray) -> Callable:
        """``indices -> means[indices][:, columns]``."""
        return lambda indices: self.means[indices][:, columns]


def minimum_subset(factor_sizes: Sequence[int]) -> int:
    """The smallest ``--eval_images`` subset of a factor grid: one image more
    than the largest factor has values.

    A vote of the factor metric fixes a value that at least 2 images of the
    subset show (a variance needs two); with this many images every factor
    has such a value, whichever images are drawn (pigeonhole).
    """
    return max(int(size) for size in factor_sizes) + 1


def check_subset_size(eval_images: int, ground_truth) -> None:
    """Refuses an ``--eval_images`` subset (0 < N < grid) below
    :func:`minimum_subset` of the ground truth's factors.

    Raises:
        UserError: naming --eval_images and the minimum.
    """
    total = ground_truth.source.num_examples
    minimum = minimum_subset(ground_truth.factor_sizes)
    if 0 < eval_images < min(minimum, total):
        raise UserError(
            f"--eval_images={eval_images}: expected 0 (all {total} images) or "
            f"at least {minimum} (one more than the "
            f"{minimum - 1} values of the largest factor, so that every "
            "factor-metric vote has two images to compare).")


# Reference: docs/original.md#mig-estimator
class EncodedSubsetGroundTruth(EncodedGroundTruth):
    """The ground truth of a random subset of the grid (``--eval_images``).

    Whatever the metrics draw comes from the subset's images: ``sample_factors``
    the factors of uniformly random subset images (with replacement), and a
    factor-metric vote (:meth:`sample_fixed_factor_batches`) images of the
    subset that share the vote's value. ``represent`` looks codes up by
    dataset index, as the whole grid's does, and refuses an image outside
    the subset.

    Args:
        ground_truth: a :class:`~provlae_tf.data.ground_truth.GroundTruthData`.
        means: ``(n, K)`` encoded means of the subset's images.
        indices: ``(n,)`` their dataset indices, strictly increasing.

    Raises:
        UserError: a factor has no value that 2 images of the subset show
            (no vote could fix it).
    """

    def __init__(self, ground_truth, means: np.ndarray, indices: np.ndarray):
        super().__init__(ground_truth, means)
        self.indices = np.asarray(indices, np.int64)
        self.factors = ground_truth.index_to_factors(self.indices)[
            :, list(self.varying)]
        # Per factor: the subset's rows sorted by its value, and where each
        # value with >= 2 rows starts in that order and how many rows it has
        # (padded to the factor with the most such values).
        self._order = np.argsort(self.factors, axis=0, kind="stable").T
        usable = []
        for f, size in enumerate(self.factor_sizes):
            counts = np.bincount(self.factors[:, f], minlength=size)
            starts = np.cumsum(counts) - counts
            values = np.flatnonzero(counts >= 2)
            if not values.size:
                raise UserError(
                    f"--eval_images={len(self.indices)}: no value of "
                    f"{self.factor_names[f]} has 2 images in the subset, "
                    "which a vote of the factor metric needs; expected at "
                    f"least {minimum_subset(self.factor_sizes)} images.")
            usable.append((starts[values], counts[values]))
        width = max(len(starts) for starts, _ in usable)
        self._num_usable = np.array([len(starts) for starts, _ in usable])
        self._starts = np.zeros((len(usable), width), np.int64)
        self._counts = np.ones((len(usable), width), np.int64)
        for f, (starts, counts) in enumerate(usable):
            self._starts[f, :len(starts)] = starts
            self._counts[f, :len(counts)] = counts

    def usable_values(self, factor: int) -> np.ndarray:
        """Values of (varying) ``factor`` that a vote may fix: those shown
        by at least 2 images of the subset."""
        order = self._order[factor]
        starts = self._starts[factor, :self._num_usable[factor]]
        return self.factors[order[starts], factor]

    def sample_factors(self, num: int, rng: np.random.Generator) -> np.ndarray:
        """Factors ``(num, F)`` of ``num`` uniformly random subset images."""
        return self.factors[rng.integers(len(self.indices), size=num)]

    def sample_fixed_factor_batches(self, fixed: np.ndarray, batch_size: int,
                                    rng: np.random.Generator) -> np.ndarray:
        """Dataset indices ``(len(fixed) * batch_size,)`` of the factor
        metric's vote batches.

        Batch ``i`` fixes factor ``fixed[i]`` at a value drawn uniformly from
        those that at least 2 subset images show: a value absent from the
        subset (or shown once, which gives no variance) is drawn again, in
        effect. Its ``batch_size`` images are drawn uniformly, with
        replacement, from the subset's images with that value, so the other
        factors follow the subset's empirical distribution.
        """
        fixed = np.asarray(fixed, np.int64)
        choice = rng.integers(self._num_usable[fixed])
        starts = self._starts[fixed, choice]
        offsets = rng.integers(self._counts[fixed, choice][:, None],
                               size=(len(fixed), batch_size))
        rows = self._order[fixed[:, None], starts[:, None] + offsets]
        return self.indices[rows.reshape(-1)]

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """Rows of ``means`` of dataset ``indices``.

        Raises:
            ValueError: an index is not in the subset.
        """
        indices = np.asarray(indices, np.int64)
        rows = np.minimum(np.searchsorted(self.indices, indices),
                          len(self.indices) - 1)
        if not np.array_equal(self.indices[rows], indices):
            raise ValueError("images outside the --eval_images subset were "
                             "asked for")
        return rows

    def represent(self, columns: np.ndarray) -> Callable:
        """``indices -> means[rows(indices)][:, columns]``."""
        return lambda indices: self.means[self.rows(indices)][:, columns]
