"""The network of a :class:`~provlae_tf.config.ModelConfig`, by ``--model``."""

from __future__ import annotations

from provlae_tf.config import ModelConfig
from provlae_tf.model.beta_vae import BetaVAE
from provlae_tf.model.ladder import ProVLAE


# Reference: docs/original.md#baselines
def build_model(config: ModelConfig, stage: int = 1,
                exact_zero_branches: bool = False) -> ProVLAE:
    """:class:`ProVLAE` for ``provlae`` and ``vlae`` (the same network), or
    the single-ladder :class:`BetaVAE` for ``beta_vae``."""
    if config.kind == "beta_vae":
        return BetaVAE(config, stage=stage)
    return ProVLAE(config, stage=stage,
                   exact_zero_branches=exact_zero_branches)
