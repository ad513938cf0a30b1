"""The pro-VLAE training objective."""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import tensorflow as tf

from provlae_tf import distributions


class Losses(NamedTuple):
    """Batch means: the weighted total, reconstruction, KL per ladder 1..L."""

    total: tf.Tensor
    reconstruction: tf.Tensor
    kl: tf.Tensor  # shape (L,)


# Reference: docs/original.md#loss-weights
def compute_losses(x: tf.Tensor, output, weights: Sequence[float],
                   global_batch: Optional[int] = None) -> Losses:
    """``recon + sum_l w_l KL_l`` with every term a batch mean, in float32.

    Args:
        x: the target images in [0, 1].
        output: a :class:`~provlae_tf.model.ladder.ModelOutput` (float16 or
            bfloat16 under mixed precision: the terms are taken in float32).
        weights: KL weight per ladder 1..L (see ``schedule.loss_weights``).
        global_batch: under a ``tf.distribute`` strategy, the global batch:
            each term is then this replica's share of the global-batch mean,
            its per-example values summed and divided by ``global_batch``
            (as ``tf.nn.compute_average_loss``), so that the replicas' terms
            add up to the mean. None: the mean over ``x``.
    """
    def mean(per_example):
        if global_batch is None:
            return tf.reduce_mean(per_example)
        return tf.reduce_sum(per_example) / global_batch

    reconstruction = mean(distributions.reconstruction_loss(
        x, _as_float32(output.logits)))
    kl = tf.stack([
        mean(distributions.kl_to_standard_normal(_as_float32(c.mean),
                                                 _as_float32(c.log_var)))
        for c in output.ladders])
    total = reconstruction + tf.add_n(
        [w * kl[i] for i, w in enumerate(weights)])
    return Losses(total, reconstruction, kl)


def _as_float32(t: tf.Tensor) -> tf.Tensor:
    return tf.cast(t, tf.float32)  # the identity on a float32 tensor
