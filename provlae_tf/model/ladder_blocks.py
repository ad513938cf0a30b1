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

    def macs(self, size: tuple[int, int]) -> tuple[int, tuple[int, int]]:
        """Multiply-accumulates per image and the output map size."""
        return _conv_macs([self.block], size)


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

    def macs(self, size: tuple[int, int]) -> int:
        """Multiply-accumulates per image from ``h_l`` of ``size``."""
        total, _ = _conv_macs(self.convs, size)
        return total + sum(_dense_macs(block.layer) for block in self.fcs) \
            + _dense_macs(self.mean_layer) + _dense_macs(self.log_var_layer)


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

    # Reference: docs/original.md#zero-branch-skipping
    def from_above(self, above: tf.Tensor) -> tf.Tensor:
        """``g_l`` of an inactive ladder (multiplier 0) without the zeros.

        What :meth:`call` computes with ``multiplier=0``: the z-branch is
        not evaluated, and the first transposed convolution, whose input is
        ``[0 * z-branch, above]``, convolves ``above`` with the kernel's
        block over those channels only (the zero block contributes nothing).
        The kernel stays one variable of the original's shape; its z-block
        and the z-branch's variables get exactly zero gradients, as in the
        original.
        """
        gap = self.skip_gap()
        if gap is not None:
            raise NotImplementedError(gap)
        if not self.deconvs:  # no architecture has this; keep it exact
            zeros = tf.zeros([tf.shape(above)[0], *self.map_shape],
                             above.dtype)
            return tf.concat([zeros, above], axis=-1)
        first = self.deconvs[0]
        layer = first.layer
        z_channels = self.map_shape[-1]
        # Kernel [h, w, out, in]; input channels are [z-branch, above]. Read
        # outside the layer's call, a mixed-precision layer's variables are
        # not cast to its compute dtype: cast them as the layer would.
        kernel = tf.cast(layer.kernel[:, :, :, z_channels:], above.dtype)
        height, width = above.shape[1], above.shape[2]
        output_shape = tf.stack([tf.shape(above)[0],
                                 height * layer.strides[0],
                                 width * layer.strides[1], layer.filters])
        # The ops of tf-keras' Conv2DTranspose.call, on the live block.
        y = tf.nn.conv2d_transpose(above, kernel, output_shape,
                                   strides=layer.strides, padding="SAME")
        y = tf.ensure_shape(y, [None, height * layer.strides[0],
                                width * layer.strides[1], layer.filters])
        if layer.use_bias:
            y = tf.nn.bias_add(y, tf.cast(layer.bias, y.dtype))
        y = first.activation(y)
        if first.bn is not None:
            y = first.bn(y)
        return run_blocks(self.deconvs[1:], y)

    def skip_gap(self) -> Optional[str]:
        """Why :meth:`from_above` cannot stand in for ``multiplier=0``
        (None when it can)."""
        if not self.deconvs:
            return None
        layer = self.deconvs[0].layer
        if layer.padding != "same" or tuple(layer.dilation_rate) != (1, 1) \
                or getattr(layer, "output_padding", None) is not None:
            return (f"{self.name}'s first transposed convolution is not a "
                    "plain 'same' one, which the skipping of inactive "
                    "ladders does not cover")
        return None

    def macs(self, skip_z: bool = False) -> tuple[int, tuple[int, int]]:
        """Multiply-accumulates per image and the output map size.

        Args:
            skip_z: count :meth:`from_above` (no z-branch, live kernel block).
        """
        total = 0 if skip_z else sum(
            _dense_macs(block.layer) for block in self.fcs)
        size = tuple(self.map_shape[:2])
        for i, block in enumerate(self.deconvs):
            kernel = block.layer.kernel.shape  # [h, w, out, in]
            inputs = kernel[3] - (self.map_shape[-1] if skip_z and i == 0
                                  else 0)
            total += size[0] * size[1] * kernel[0] * kernel[1] * kernel[2] \
                * inputs
            size = tuple(s * t for s, t in zip(size, block.layer.strides))
        return total, size


class DecoderPath(OriginalScope):
    """``gen<l>`` without a z-branch: its transposed convolutions carry the
    map from above down one level (the beta-VAE baseline's decoder below the
    top, :class:`~provlae_tf.model.beta_vae.BetaVAE`)."""

    def __init__(self, name: str, deconvs: Sequence[ConvSpec],
                 style: BlockStyle):
        super().__init__(name, style)
        self.deconvs = [
            self._block(self._deconv(f, s), bn)
            for f, s, bn in deconvs]

    def call(self, above):
        return run_blocks(self.deconvs, above)


class PixelLogits(OriginalScope):
    """``gen0``: the last stride-2 transposed convolution; linear, no "BN"."""

    def __init__(self, name: str, channels: int, style: BlockStyle):
        super().__init__(name, style)
        self.deconv = self._deconv(channels, 2)

    def call(self, g1):
        return self.deconv(g1)

    def macs(self, size: tuple[int, int]) -> int:
        """Multiply-accumulates per image from ``g_1`` of ``size``."""
        return size[0] * size[1] * int(np.prod(self.deconv.kernel.shape))


def _dense_macs(layer) -> int:
    return int(np.prod(layer.kernel.shape))


def _conv_macs(blocks, size: tuple[int, int]) -> tuple[int, tuple[int, int]]:
    """MACs of 'same' convolutions in sequence, and the output size."""
    total = 0
    for block in blocks:
        size = tuple(-(-s // t) for s, t in zip(size, block.layer.strides))
        total += size[0] * size[1] * int(np.prod(block.layer.kernel.shape))
    return total, size
