"""The four kinds of scope of the ladder network: trunk, ladder head, generator, pixels.

Each class mirrors one TF1 variable scope of the original (``qh<l>``,
``qladder<l>``, ``gen<l>``, ``gen0``) and is configured by plain tuples, so
both architectures (:mod:`provlae_tf.model.architectures`) are data.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from provlae_tf.model.scoped_layers import BlockStyle, OriginalScope, run_blocks

# (filters or units, stride (convs only), with "BN")
ConvSpec = tuple[int, int, bool]
DenseSpec = tuple[int, bool]


def _flatten(x: tf.Tensor) -> tf.Tensor:
    # Row-major NHWC flatten, as tf.layers.flatten in the original.
    return tf.reshape(x, [-1, int(np.prod(x.shape[1:]))])


class TrunkBlock(OriginalScope):
    """``qh<l>``: one stride-2 convolution of the encoder trunk, ``h_l``."""

    def __init__(self, name: str, filters: int, style: BlockStyle):
        super().__init__(name, style)
        self.block = self._block(self._conv(filters, 2), True)

    def call(self, x):
        return self.block(x)


# Reference: docs/original.md#small-architecture
class LadderHead(OriginalScope):
    """``qladder<l>``: maps ``h_l`` to the posterior mean and log-variance of ``z_l``."""

    def __init__(self, name: str, convs: Sequence[ConvSpec],
                 dense_layers: Sequence[DenseSpec], z_dim: int,
                 style: BlockStyle):
        super().__init__(name, style)
        self.convs = [
            self._block(self._conv(f, s), bn)
            for f, s, bn in convs]
        self.fcs = [
            self._block(self._dense(u), bn)
            for u, bn in dense_layers]
        self.mean_layer = self._dense(z_dim)
        self.log_var_layer = self._dense(z_dim)

    def call(self, h):
        x = _flatten(run_blocks(self.convs, h))
        x = run_blocks(self.fcs, x)
        return self.mean_layer(x), self.log_var_layer(x)


# Reference: docs/original.md#small-architecture
# Reference: docs/original.md#progressive-stages
class LadderGenerator(OriginalScope):
    """``gen<l>``: turns ``z_l`` (and the feature map from above) into ``g_l``.

    The z-branch (dense layers, reshaped to a feature map) is multiplied by
    the stage's multiplier (0 while the ladder is inactive, alpha while it
    fades in) and concatenated in front of the map from the ladder above.
    """

    def __init__(self, name: str, dense_layers: Sequence[DenseSpec],
                 map_shape: tuple[int, int, int],
                 deconvs: Sequence[ConvSpec], style: BlockStyle):
        super().__init__(name, style)
        self.map_shape = tuple(map_shape)
        self.fcs = [
            self._block(self._dense(u), bn)
            for u, bn in dense_layers]
        self.deconvs = [
            self._block(self._deconv(f, s), bn)
            for f, s, bn in deconvs]

    def call(self, z, above: Optional[tf.Tensor] = None,
             multiplier: Optional[tf.Tensor] = None):
        x = tf.reshape(run_blocks(self.fcs, z), [-1, *self.map_shape])
        if multiplier is not None:
            x = x * multiplier
        if above is not None:
            x = tf.concat([x, above], axis=-1)
        return run_blocks(self.deconvs, x)


class PixelLogits(OriginalScope):
    """``gen0``: the last stride-2 transposed convolution; linear, no "BN"."""

    def __init__(self, name: str, channels: int, style: BlockStyle):
        super().__init__(name, style)
        self.deconv = self._deconv(channels, 2)

    def call(self, g1):
        return self.deconv(g1)
