"""The training step: one implementation on one device or many replicas.

On one device (the default strategy) it is the original's step: the batch
mean of each loss term, one gradient, TF1 Adam. Under a ``tf.distribute``
strategy the same step is split over replicas, and with ``mixed_float16``
it scales the loss dynamically. Measured on one device, running it through
the default strategy costs nothing beyond noise (docs/speed.md).
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import tensorflow as tf

from provlae_tf.train.loss import Losses, compute_losses
from provlae_tf.train.optimizer import TF1Adam


class DynamicLossScale:
    """Dynamic loss scaling for float16, as Keras' LossScaleOptimizer does.

    The scale starts at 2^15, is halved (and the update skipped) on a
    non-finite gradient, and doubles after 2,000 finite steps. It is kept
    out of the checkpoint, so that checkpoints stay the same under every
    precision; a resumed run finds its scale again within a few steps.
    Create it in the strategy's scope.
    """

    GROWTH_STEPS = 2000

    def __init__(self):
        self.scale = tf.Variable(2.0 ** 15, trainable=False,
                                 name="loss_scale")
        self.good_steps = tf.Variable(0, dtype=tf.int32, trainable=False,
                                      name="good_steps")

    def apply(self, optimizer: TF1Adam, gradients) -> None:
        """Unscales the (all-reduced, so on every replica equal) gradients
        and applies them when all are finite; otherwise skips the update
        and halves the scale."""
        scale, good_steps = self.scale, self.good_steps
        gradients = [None if g is None else g / scale for g in gradients]
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g))
                                for g in gradients if g is not None])

        def apply():
            optimizer.apply_gradients(gradients)
            grown = good_steps + 1 >= self.GROWTH_STEPS
            good_steps.assign(tf.where(grown, 0, good_steps + 1))
            scale.assign(tf.where(grown, scale * 2.0, scale))
            return tf.constant(True)

        def skip():
            good_steps.assign(0)
            scale.assign(tf.maximum(scale / 2.0, 1.0))
            return tf.constant(False)

        tf.cond(finite, apply, skip)


class TrainStep:
    """The training step, on every replica of a strategy.

    Args:
        strategy: the ``tf.distribute`` strategy (the default strategy runs
            it on one device).
        model: the ladder network, built in the strategy's scope.
        variables: the trained variables, in the optimizer's order.
        optimizer: the TF1-equivalent Adam over ``variables``.
        loss_weights: the KL weight per ladder of a stage.
        seed: ``--seed``, with the step the stateless noise seed.
        max_value: the images' largest pixel value (they are divided by it).
        loss_scale: a :class:`DynamicLossScale` (mixed_float16), or None.
    """

    def __init__(self, strategy, model, variables, optimizer: TF1Adam,
                 loss_weights: Callable[[int], Sequence[float]], seed: int,
                 max_value: float,
                 loss_scale: Optional[DynamicLossScale] = None):
        self.strategy, self.model, self.variables = strategy, model, variables
        self.optimizer, self.loss_weights = optimizer, loss_weights
        self.seed = seed
        self.max_value, self.loss_scale = float(max_value), loss_scale

    # Reference: docs/original.md#sampling-noise
    # Reference: docs/original.md#zero-branch-skipping
    def __call__(self, images, alpha, global_step, stage: int) -> Losses:
        """One step on the global batch ``images``.

        On one replica: the original's step, each loss term the batch mean.
        Under several, replica r takes its rows ``r*b .. (r+1)*b - 1`` (b =
        global batch / replicas), and the noise of those rows out of the
        global batch's noise, drawn from (seed, step) as on one device: an
        example's sample does not depend on the replica that processes it.
        Each replica's losses are then sums over its rows divided by the
        global batch (as ``tf.nn.compute_average_loss`` does), so the
        replicas' losses and gradients summed are the global-batch means;
        every replica applies the same summed gradients to its copy of the
        variables (TF1Adam's kernel unchanged), which keeps the copies
        equal. Skipped branches (inactive ladders) have None gradients,
        which TF1Adam applies as the zero gradients the original's
        zero-multiplied branches get.
        """
        strategy, model = self.strategy, self.model
        weights = self.loss_weights(stage)
        replicas = strategy.num_replicas_in_sync
        global_batch = int(images.shape[0])
        per_replica = global_batch // replicas
        seed = tf.stack([tf.constant(self.seed, tf.int64), global_step])

        def mine(t):
            """This replica's rows of a global-batch tensor."""
            if replicas == 1:
                return t
            replica = tf.distribute.get_replica_context() \
                .replica_id_in_sync_group
            return tf.gather(
                tf.reshape(t, [replicas, per_replica, *t.shape[1:]]), replica)

        def replica_step(images):
            x = tf.cast(mine(images), tf.float32) / self.max_value
            eps = [mine(n) for n in model.noise(global_batch, seed)]
            with tf.GradientTape() as tape:
                output = model(x, alpha=alpha, stage=stage, eps=eps)
                losses = compute_losses(
                    x, output, weights,
                    global_batch if replicas > 1 else None)
                scaled = losses.total if self.loss_scale is None \
                    else losses.total * self.loss_scale.scale
            gradients = tape.gradient(scaled, self.variables)
            if replicas > 1:
                present = [i for i, g in enumerate(gradients)
                           if g is not None]
                summed = tf.distribute.get_replica_context().all_reduce(
                    tf.distribute.ReduceOp.SUM,
                    [gradients[i] for i in present])
                for i, g in zip(present, summed):
                    gradients[i] = g
            if self.loss_scale is None:
                self.optimizer.apply_gradients(gradients)
            else:
                self.loss_scale.apply(self.optimizer, gradients)
            return losses

        per_replica_losses = strategy.run(replica_step, args=(images,))
        return Losses(*(strategy.reduce(tf.distribute.ReduceOp.SUM, value,
                                        axis=None)
                        for value in per_replica_losses))
