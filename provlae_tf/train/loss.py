"""The pro-VLAE training objective."""

from __future__ import annotations

from typing import NamedTuple, Sequence

import tensorflow as tf

from provlae_tf import distributions


class Losses(NamedTuple):
    """Batch means: the weighted total, reconstruction, KL per ladder 1..L."""

    total: tf.Tensor
    reconstruction: tf.Tensor
    kl: tf.Tensor  # shape (L,)


# Reference: docs/original.md#loss-weights
def compute_losses(x: tf.Tensor, output, weights: Sequence[float]) -> Losses:
    """``recon + sum_l w_l KL_l`` with every term a batch mean.

    Args:
        x: the target images in [0, 1].
        output: a :class:`~provlae_tf.model.ladder.ModelOutput`.
        weights: KL weight per ladder 1..L (see ``schedule.loss_weights``).
    """
    reconstruction = tf.reduce_mean(
        distributions.reconstruction_loss(x, output.logits))
    kl = tf.stack([
        tf.reduce_mean(distributions.kl_to_standard_normal(c.mean, c.log_var))
        for c in output.ladders])
    total = reconstruction + tf.add_n(
        [w * kl[i] for i, w in enumerate(weights)])
    return Losses(total, reconstruction, kl)
