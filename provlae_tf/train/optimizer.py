"""Adam with the original's TF1 update, slots and step counters.

Reference: the original uses ``tf.train.AdamOptimizer``. Its update is the
``ResourceApplyAdam`` kernel ("epsilon hat" form)::

    lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
    m += (g - m) * (1 - beta1);  v += (g^2 - v) * (1 - beta2)
    var -= lr_t * m / (sqrt(v) + epsilon)

after which ``beta1_power *= beta1`` and ``beta2_power *= beta2``. We call
the same kernel and keep the same state (slots ``m``/``v`` per variable and
the two powers), so optimizer state converts one-to-one with original
checkpoints and carries across stages.
"""

from __future__ import annotations

from typing import Iterable

import tensorflow as tf


class TF1Adam(tf.Module):
    """Adam with TF1 ``AdamOptimizer`` semantics.

    Args:
        variables: the variables to train, in a fixed order.
        learning_rate, beta1, beta2, epsilon: the Adam hyperparameters.
    """

    def __init__(self, variables: Iterable[tf.Variable],
                 learning_rate: float = 5e-4, beta1: float = 0.9,
                 beta2: float = 0.999, epsilon: float = 1e-8,
                 name: str = "tf1_adam"):
        super().__init__(name=name)
        self.learning_rate = learning_rate
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        variables = list(variables)
        # Powers start at beta (TF1 initialises them before the first step).
        self.beta1_power = tf.Variable(beta1, dtype=tf.float32,
                                       trainable=False, name="beta1_power")
        self.beta2_power = tf.Variable(beta2, dtype=tf.float32,
                                       trainable=False, name="beta2_power")
        self.m = [tf.Variable(tf.zeros_like(v), trainable=False,
                              name=_slot_name(v, "Adam")) for v in variables]
        self.v = [tf.Variable(tf.zeros_like(v), trainable=False,
                              name=_slot_name(v, "Adam_1")) for v in variables]
        self._variables = variables
        self._index = {v.ref(): i for i, v in enumerate(variables)}

    def slots(self, variable: tf.Variable) -> tuple[tf.Variable, tf.Variable]:
        """The (m, v) slots of ``variable`` (TF1 names ``<var>/Adam``, ``/Adam_1``)."""
        i = self._index[variable.ref()]
        return self.m[i], self.v[i]

    @property
    def steps(self) -> tf.Tensor:
        """Number of updates applied so far, derived from beta1_power."""
        return tf.cast(tf.round(tf.math.log(self.beta1_power)
                                / tf.math.log(self.beta1)) - 1, tf.int64)

    def apply_gradients(self, gradients) -> None:
        """Applies one update; ``gradients`` aligned with the variables."""
        lr = tf.constant(self.learning_rate, tf.float32)
        beta1 = tf.constant(self.beta1, tf.float32)
        beta2 = tf.constant(self.beta2, tf.float32)
        epsilon = tf.constant(self.epsilon, tf.float32)
        for var, m, v, grad in zip(self._variables, self.m, self.v, gradients):
            tf.raw_ops.ResourceApplyAdam(
                var=var.handle, m=m.handle, v=v.handle,
                beta1_power=self.beta1_power, beta2_power=self.beta2_power,
                lr=lr, beta1=beta1, beta2=beta2, epsilon=epsilon, grad=grad,
                use_locking=False, use_nesterov=False)
        # Reference: TF1's _finish runs after every variable's update.
        self.beta1_power.assign(self.beta1_power * beta1)
        self.beta2_power.assign(self.beta2_power * beta2)


def _slot_name(variable: tf.Variable, slot: str) -> str:
    return variable.name.split(":")[0].replace("/", "_") + "_" + slot
