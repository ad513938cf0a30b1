"""The original's two ladder architectures, as data.

"small" (L = 3) is used for dSprites, 3DShapes and MNIST; "celeba" (L = 4)
for CelebA; docs/original.md describes both as the original builds them.
"""

from __future__ import annotations

import dataclasses
import functools

import tensorflow as tf

from provlae_tf.config import NUM_LADDERS
from provlae_tf.model.ladder_blocks import (DecoderPath, LadderGenerator,
                                            LadderHead, PixelLogits,
                                            TrunkBlock)
from provlae_tf.model.scoped_layers import BlockStyle


# Reference: docs/original.md#log-variance-clip
@dataclasses.dataclass(frozen=True)
class Architecture:
    """What distinguishes the two original networks besides their layers.

    Attributes:
        name: ``"small"`` or ``"celeba"``.
        num_ladders: L.
        clips_log_var: whether log-variances are clipped after sampling
            (to ``ModelConfig.log_var_clip``).
        encoder_fade_off_by_one: the original CelebA encoder fades the
            ladder of the small model's rule (ladder 4 - stage) instead of
            the ladder that switches on (see :mod:`provlae_tf.model.stages`).
    """

    name: str
    num_ladders: int
    clips_log_var: bool
    encoder_fade_off_by_one: bool


SMALL = Architecture("small", NUM_LADDERS["small"], False, False)
# Reference: docs/original.md#celeba-architecture
# Reference: docs/original.md#log-variance-clip
# Reference: docs/original.md#celeba-encoder-fade
# The clip to [-100, 3] and the encoder fade off-by-one exist only in the
# CelebA model.
CELEBA = Architecture("celeba", NUM_LADDERS["celeba"], True, True)
ARCHITECTURES = {a.name: a for a in (SMALL, CELEBA)}


def _generator(name, dense_layers, map_shape, deconvs, style,
               z_branch: bool):
    """``gen<l>``; without its z-branch, only the path from the level above."""
    if z_branch:
        return LadderGenerator(name, dense_layers, map_shape, deconvs, style)
    return DecoderPath(name, deconvs, style)


# Reference: docs/original.md#small-architecture
def build_small(z_dim: int, channels: int, bn_epsilon: float,
                z_branches: bool = True):
    """Scopes of the "small" network: ELU, 32 filters, fc 256.

    ``z_branches=False`` builds the generators below the top without their
    z-branches (the beta-VAE baseline's decoder).
    """
    style = BlockStyle(tf.nn.elu, bn_epsilon)
    trunk = [TrunkBlock(f"qh{l}", 32, style) for l in (1, 2, 3)]
    ladders = {l: LadderHead(f"qladder{l}", [(32, 2, True)], [(256, True)],
                             z_dim, style) for l in (3, 2, 1)}
    gens = {}
    for l, size in ((3, 4), (2, 8), (1, 16)):
        gens[l] = _generator(
            f"gen{l}", [(256, True), (size * size * 32, True)],
            (size, size, 32), [(32, 2, True)], style, z_branches or l == 3)
    return trunk, ladders, gens, PixelLogits("gen0", channels, style)


def build_celeba(z_dim: int, channels: int, bn_epsilon: float,
                 z_branches: bool = True):
    """Scopes of the "celeba" network: leaky ReLU, 64..512 filters (see
    :func:`build_small` for ``z_branches``)."""
    style = BlockStyle(functools.partial(tf.nn.leaky_relu, alpha=0.2),
                     bn_epsilon)
    trunk = [TrunkBlock(f"qh{l}", f, style)
             for l, f in ((1, 64), (2, 128), (3, 256), (4, 512))]
    ladders = {
        4: LadderHead("qladder4", [], [(1024, True), (1024, True)], z_dim, style),
        3: LadderHead("qladder3", [(256, 2, True), (512, 2, True)], [],
                      z_dim, style),
        2: LadderHead("qladder2", [(128, 2, True), (256, 2, True)], [],
                      z_dim, style),
        1: LadderHead("qladder1", [(64, 2, True), (64, 1, True)], [],
                      z_dim, style),
    }
    gens = {
        4: _generator("gen4", [(1024, True), (1024, True),
                               (4 * 4 * 512, True)], (4, 4, 512), [], style,
                      True),
        3: _generator("gen3", [(4 * 4 * 512, True)], (4, 4, 512),
                      [(512, 1, True), (256, 2, True)], style, z_branches),
        2: _generator("gen2", [(8 * 8 * 256, True)], (8, 8, 256),
                      [(128, 2, True), (64, 1, True)], style, z_branches),
        # Reference: docs/original.md#celeba-architecture
        # gen1 has activations but no "BN" at all.
        1: _generator("gen1", [(16 * 16 * 64, False)], (16, 16, 64),
                      [(64, 2, False)], style, z_branches),
    }
    return trunk, ladders, gens, PixelLogits("gen0", channels, style)


BUILDERS = {"small": build_small, "celeba": build_celeba}
