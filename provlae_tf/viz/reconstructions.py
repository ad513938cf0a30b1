"""Reconstructions of random images (the original's mode 2).

Reference: docs/original.md#reconstructions
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from provlae_tf.data.base import ImageSource
from provlae_tf.viz import encode_decode
from provlae_tf.viz import images as images_lib

NUM_RECONSTRUCTIONS = 10


class Reconstructions(NamedTuple):
    """Originals, their reconstructions and the dataset indices drawn."""

    indices: np.ndarray
    originals: np.ndarray  # float (n, H, W, C)
    reconstructions: np.ndarray  # float (n, H, W, C), sigmoid of the logits


# Reference: docs/original.md#reconstructions
def reconstruct(model, source: ImageSource, rng: np.random.Generator,
                count: int = NUM_RECONSTRUCTIONS,
                code_from: str = "sample") -> Reconstructions:
    """Reconstructs ``count`` images drawn without replacement by ``rng``.

    Args:
        model: a :class:`~provlae_tf.model.ladder.ProVLAE` (used with
            alpha 1 at its stage).
        source: the images.
        rng: draws the indices (and the noise when ``code_from="sample"``).
        count: number of images (at most the dataset size).
        code_from: ``"sample"`` (default) decodes one draw from q(z|x), as
            the original does; ``"mean"`` decodes the posterior means, which
            shows what the model has learnt without sampling noise.
    """
    if code_from not in encode_decode.CODE_SOURCES:
        raise ValueError(f"code_from must be one of {encode_decode.CODE_SOURCES},"
                         f" got {code_from!r}")
    count = min(count, source.num_examples)
    indices = np.sort(rng.choice(source.num_examples, count, replace=False))
    x = encode_decode.load_images(source, indices)
    post = encode_decode.posterior(model, x, rng)
    chosen = post.sample if code_from == "sample" else post.mean
    return Reconstructions(indices, x, encode_decode.decode_images(model, chosen))


def reconstruction_grid(result: Reconstructions, pad: int = 2) -> np.ndarray:
    """Two rows: the originals on top, each reconstruction below it."""
    n = len(result.originals)
    both = np.concatenate([result.originals, result.reconstructions])
    return images_lib.grid(both, 2, n, pad)
