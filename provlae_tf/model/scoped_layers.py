"""Building blocks of the pro-VLAE ladder networks.

Every block is named after the original's TF1 scope/layer names
(``conv2d``, ``dense_1``, ``batch_normalization_2`` ...) so that the table
between original checkpoint variables and ours is explicit and readable
(see :mod:`provlae_tf.model.naming`).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import tensorflow as tf
import tf_keras as keras

from provlae_tf.config import BN_EPSILON


class FrozenStatsBatchNorm(keras.layers.Layer):
    """The original's "batch normalisation": an affine map with fixed statistics.

    Reference: docs/original.md#frozen-batch-norm
    The original calls ``tf.layers.batch_normalization`` without
    ``training=True`` and never runs its update ops, so the layer always
    normalises with moving mean 0 and moving variance 1. What it computes is
    therefore ``gamma * x / sqrt(1 + eps) + beta`` with learned ``gamma``
    (init 1) and ``beta`` (init 0). The moving statistics are constants and
    are not stored; the checkpoint converter writes them as zeros and ones.
    """

    def __init__(self, epsilon: float = BN_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        dim = int(input_shape[-1])
        # float32 under a mixed-precision policy too (as Keras' own batch
        # normalisation keeps them): the fused kernel takes float32 scale
        # and offset with half-precision inputs.
        self.gamma = self.add_weight(
            name="gamma", shape=(dim,), initializer="ones", trainable=True,
            experimental_autocast=False)
        self.beta = self.add_weight(
            name="beta", shape=(dim,), initializer="zeros", trainable=True,
            experimental_autocast=False)
        super().build(input_shape)

    def call(self, inputs):
        # Reference: docs/original.md#frozen-batch-norm
        # The ops the original's layer runs in inference mode: on feature
        # maps (rank 4), TensorFlow's fused batch norm, whose one gradient
        # kernel also gives gamma's and beta's (far cheaper than the
        # element-wise products and reductions of the formula below);
        # otherwise tf.nn.batch_normalization's arithmetic with mean 0 and
        # variance 1: x * (rsqrt(var + eps) * gamma) + (beta - mean * that).
        if inputs.shape.rank == 4:
            channels = inputs.shape[-1]
            outputs, _, _, _, _, _ = tf.raw_ops.FusedBatchNormV3(
                x=inputs, scale=self.gamma, offset=self.beta,
                mean=tf.zeros([channels], tf.float32),
                variance=tf.ones([channels], tf.float32),
                epsilon=self.epsilon, is_training=False)
            return outputs
        inv = tf.math.rsqrt(tf.constant(1.0 + self.epsilon, inputs.dtype))
        return (inputs * (inv * tf.cast(self.gamma, inputs.dtype))
                + tf.cast(self.beta, inputs.dtype))

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


# Reference: docs/original.md#initialisation
def conv(filters: int, strides: int, name: str) -> keras.layers.Layer:
    """A 4x4 'same' convolution with bias, glorot-uniform kernel, zero bias."""
    return keras.layers.Conv2D(
        filters, 4, strides=strides, padding="same", name=name,
        kernel_initializer="glorot_uniform", bias_initializer="zeros")


# Reference: docs/original.md#initialisation
def deconv(filters: int, strides: int, name: str) -> keras.layers.Layer:
    """A 4x4 'same' transposed convolution (kernel stored [h, w, out, in])."""
    return keras.layers.Conv2DTranspose(
        filters, 4, strides=strides, padding="same", name=name,
        kernel_initializer="glorot_uniform", bias_initializer="zeros")


# Reference: docs/original.md#initialisation
def dense(units: int, name: str) -> keras.layers.Layer:
    """A fully connected layer with bias, glorot-uniform kernel, zero bias."""
    return keras.layers.Dense(
        units, name=name, kernel_initializer="glorot_uniform",
        bias_initializer="zeros")


@dataclasses.dataclass(frozen=True)
class BlockStyle:
    """What every block of one architecture shares: activation and "BN" epsilon."""

    activation: Callable[[tf.Tensor], tf.Tensor]
    bn_epsilon: float = BN_EPSILON


# Reference: docs/original.md#variable-names
class OriginalScope(keras.layers.Layer):
    """A stack of layers that mirrors one TF1 variable scope of the original.

    Layers are created with the names TF1 gave them inside the scope, in
    creation order: ``conv2d, conv2d_1, ...``, ``dense, dense_1, ...``,
    ``batch_normalization, batch_normalization_1, ...``. Subclasses create
    their layers through :meth:`_make`, which picks those names.
    """

    def __init__(self, name: str, style: BlockStyle, **kwargs):
        super().__init__(name=name, **kwargs)
        self.style = style
        self._counts: dict[str, int] = {}
        # Original layer name -> layer, in creation order: the source of the
        # checkpoint naming table.
        self.original_layers: dict[str, keras.layers.Layer] = {}

    def _next_name(self, kind: str) -> str:
        n = self._counts.get(kind, 0)
        self._counts[kind] = n + 1
        return kind if n == 0 else f"{kind}_{n}"

    def _make(self, kind: str, factory: Callable[[str], keras.layers.Layer]):
        layer_name = self._next_name(kind)
        layer = factory(layer_name)
        self.original_layers[layer_name] = layer
        return layer

    def _conv(self, filters: int, strides: int):
        return self._make("conv2d", lambda n: conv(filters, strides, n))

    def _deconv(self, filters: int, strides: int):
        return self._make(
            "conv2d_transpose", lambda n: deconv(filters, strides, n))

    def _dense(self, units: int):
        return self._make("dense", lambda n: dense(units, n))

    def _bn(self):
        return self._make(
            "batch_normalization",
            lambda n: FrozenStatsBatchNorm(self.style.bn_epsilon, name=n))

    def _block(self, layer, with_bn: bool) -> "ActBlock":
        """``BN(act(layer(x)))``, or ``act(layer(x))`` without "BN"."""
        return ActBlock(layer, self.style.activation,
                        self._bn() if with_bn else None)


class ActBlock:
    """``BN(act(layer(x)))`` or ``act(layer(x))``: the original's block order.

    Reference: docs/original.md#activation-before-bn
    The original applies the activation BEFORE its "BN".
    """

    def __init__(self, layer, activation, bn=None):
        self.layer, self.activation, self.bn = layer, activation, bn

    def __call__(self, x):
        x = self.activation(self.layer(x))
        return self.bn(x) if self.bn is not None else x


def run_blocks(blocks: Sequence[ActBlock], x):
    """Applies blocks in order."""
    for block in blocks:
        x = block(x)
    return x
