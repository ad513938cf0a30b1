"""The explicit table between the original's TF1 variable names and our variables.

Original names are ``vae_ladder/<scope>/<layer>/<param>``. Our scopes and
layers carry the same names by construction
(:class:`~provlae_tf.model.scoped_layers.OriginalScope`), so the table is
built by walking the model, not by parsing Keras' variable names.

Reference: docs/original.md#variable-names
"""

from __future__ import annotations

import tensorflow as tf

from provlae_tf.model.scoped_layers import FrozenStatsBatchNorm

ROOT_SCOPE = "vae_ladder"
# Reference: docs/original.md#frozen-batch-norm
# Moving statistics exist in original checkpoints but are never updated
# (always mean 0, variance 1); our frozen "BN" has no variables for them.
FROZEN_STATISTICS = {"moving_mean": 0.0, "moving_variance": 1.0}


def scopes(model) -> list:
    """The model's original scopes in the original's creation order."""
    # heads and generators are listed bottom first.
    return (list(model.trunk) + list(reversed(model.heads))
            + list(reversed(model.generators)) + [model.pixels])


# Reference: docs/original.md#variable-names
def original_variable_table(model) -> dict[str, tf.Variable]:
    """Maps every original trainable variable name to our variable.

    Returns:
        An insertion-ordered dict ``{"vae_ladder/qh1/conv2d/kernel": var, ...}``
        in the original's graph creation order.
    """
    table = {}
    for scope in scopes(model):
        for layer_name, layer in scope.original_layers.items():
            prefix = f"{ROOT_SCOPE}/{scope.name}/{layer_name}"
            params = (("gamma", layer.gamma), ("beta", layer.beta)) \
                if isinstance(layer, FrozenStatsBatchNorm) \
                else (("kernel", layer.kernel), ("bias", layer.bias))
            for param, variable in params:
                table[f"{prefix}/{param}"] = variable
    return table


# Reference: docs/original.md#frozen-batch-norm
def frozen_statistics_table(model) -> dict[str, tuple[tuple[int, ...], float]]:
    """Original names of the never-updated BN moving statistics.

    Returns:
        ``{name: (shape, constant value)}`` for every moving mean/variance.
    """
    table = {}
    for scope in scopes(model):
        for layer_name, layer in scope.original_layers.items():
            if isinstance(layer, FrozenStatsBatchNorm):
                prefix = f"{ROOT_SCOPE}/{scope.name}/{layer_name}"
                for param, value in FROZEN_STATISTICS.items():
                    table[f"{prefix}/{param}"] = (tuple(layer.gamma.shape),
                                                  value)
    return table
