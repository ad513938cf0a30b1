"""The beta-VAE baseline: one ladder on the ladder network's deepest path.

The paper compares pro-VLAE with a beta-VAE; its exact network is not
available to us, so the baseline is built from the same architecture: the
whole encoder trunk (``qh1..qhL``) and the top ladder's head, with
``L * z_dim`` latents (as many as the ladder model has in all), and the
decoder from the top generator down through every level's transposed
convolutions, without the lower ladders' z-branches
(:class:`~provlae_tf.model.ladder_blocks.DecoderPath`). The loss is the
ladder model's with one KL term weighted by ``--beta``.

It presents the interface of :class:`~provlae_tf.model.ladder.ProVLAE` with
one ladder and one stage, so training, checkpoints, ``--mode=2`` and
``--mode=3`` handle it unchanged.
"""

from __future__ import annotations

from typing import Optional, Sequence

import tensorflow as tf

from provlae_tf.model.architectures import BUILDERS
from provlae_tf.model.ladder import ProVLAE


# Reference: docs/original.md#baselines
class BetaVAE(ProVLAE):
    """Single-ladder VAE with ``config.latents_per_ladder`` (= L * z_dim)
    latents; ``config.kind`` must be ``"beta_vae"``."""

    def __init__(self, config, stage: int = 1, **kwargs):
        kwargs.pop("exact_zero_branches", None)  # nothing is multiplied by 0
        super().__init__(config, stage=stage, **kwargs)

    def _build_scopes(self) -> None:
        config = self.config
        top = config.architecture_ladders
        trunk, heads, gens, pixels = BUILDERS[config.architecture](
            config.latents_per_ladder, config.channels, config.bn_epsilon,
            z_branches=False)
        self.trunk = trunk
        self.heads = [heads[top]]
        # Bottom first, as in ProVLAE; only the last has a z-branch.
        self.generators = [gens[l] for l in range(1, top + 1)]
        self.pixels = pixels

    def zero_branch_skip_gap(self) -> Optional[str]:
        return None

    def _encode_raw(self, x, alpha, stage: int):
        del alpha, stage  # one ladder, nothing fades
        return [self.heads[0](self.trunk_features(x)[-1])]

    def decoder_maps(self, codes: Sequence, alpha=1.0,
                     stage: Optional[int] = None,
                     exact: Optional[bool] = None) -> dict:
        """The decoder's feature maps ``{level: g}``, top level first."""
        del alpha, stage, exact
        if len(codes) != 1:
            raise ValueError(f"decode needs 1 code (the beta-VAE has one "
                             f"ladder), got {len(codes)}")
        top = len(self.generators)
        maps = {top: self.generators[-1](
            tf.convert_to_tensor(codes[0], tf.float32))}
        for level in range(top - 1, 0, -1):
            maps[level] = self.generators[level - 1](maps[level + 1])
        return maps
