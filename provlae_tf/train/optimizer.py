"""Adam with the original's TF1 update, slots and step counters.

Reference: docs/original.md#tf1-adam
The original uses ``tf.train.AdamOptimizer``. Its update is the
``ResourceApplyAdam`` kernel ("epsilon hat" form)::

    lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
    m += (g - m) * (1 - beta1);  v += (g^2 - v) * (1 - beta2)
    var -= lr_t * m / (sqrt(v) + epsilon)

after which ``beta1_power *= beta1`` and ``beta2_power *= beta2``. We call
the same kernel and keep the same state (slots ``m``/``v`` per variable and
the two powers), so optimizer state converts one-to-one with original
checkpoints and carries across stages.

The step count is not stored: TF1 only keeps ``beta1_power = beta1^(1+n)``
and ``beta2_power = beta2^(1+n)`` in float32, and on CPU (denormals flushed)
``0.9^(1+n)`` becomes exactly 0.0 after 828 steps, less than one dSprites
epoch. :func:`steps_from_powers` recovers ``n`` where the powers still tell
it and otherwise says it is unknown (with a lower bound), never a guess.
Training goes on exactly as TF1 does from the stored powers: 0.0 stays 0.0
and ``lr_t = lr * sqrt(1 - beta2_power) / (1 - 0)``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Iterable, Optional

import numpy as np
import tensorflow as tf

_TINY = float(np.finfo(np.float32).tiny)  # below it TF1 on CPU stores 0.0
# The longest power sequence simulated (beta = 0.9999 needs 873,177 steps to
# underflow; a beta closer to 1 gives up at this many, as a lower bound).
_MAX_SIMULATED = 1 << 22


@dataclasses.dataclass(frozen=True)
class AdamSteps:
    """The number of Adam updates that TF1's beta powers record.

    Attributes:
        exact: the number of updates, or None when the powers cannot tell it.
        at_least: a lower bound when ``exact`` is None (0 if none is known).
        reason: why ``exact`` is None ("" when it is known).
    """

    exact: Optional[int]
    at_least: int = 0
    reason: str = ""

    @property
    def known(self) -> bool:
        return self.exact is not None

    def __int__(self) -> int:
        if self.exact is None:
            raise ValueError("the Adam step count is unknown: "
                             + self.describe())
        return self.exact

    def describe(self) -> str:
        """``"6000 Adam steps"``, or ``"an unknown number of Adam steps (at
        least 828: beta1_power underflowed to 0)"``."""
        if self.exact is not None:
            return f"{self.exact} Adam step{'' if self.exact == 1 else 's'}"
        bound = f"at least {self.at_least}: " if self.at_least else ""
        return f"an unknown number of Adam steps ({bound}{self.reason})"


def _tf1_powers(beta: float) -> np.ndarray:
    """``beta_power`` after 0, 1, 2, ... updates as TF1 computes it, while it
    is a normal float32: float32(beta), then ``*= beta`` in float32."""
    beta32 = np.float32(beta)
    count = _MAX_SIMULATED
    if beta32 < 1:
        count = min(count, int(math.log(_TINY) / math.log(beta32)) + 2)
    # cumprod with a float32 accumulator rounds after every multiplication,
    # as TF1's `beta_power * beta` does.
    powers = np.cumprod(np.full(count, beta32, np.float32), dtype=np.float32)
    return powers[powers >= _TINY]


def _steps_from_power(name: str, power, beta: float):
    """``(steps or None, lower bound, why not)`` from one beta power."""
    power = np.float32(power)
    if not 0 < beta < 1 or np.float32(beta) >= 1:
        return None, 0, f"{name} cannot count steps with beta {beta}"
    powers = _tf1_powers(beta)
    if power == 0 or 0 < power < _TINY:
        # Flushed to 0 (CPU) or subnormal: it left the normal range after
        # len(powers) updates, so at least that many were taken.
        what = "to 0" if power == 0 else f"({power!r})"
        return None, len(powers), f"{name} underflowed {what}"
    # The normal-range powers are strictly decreasing: at most one match.
    hits = np.flatnonzero(powers == power)
    if hits.size:
        return int(hits[0]), 0, ""
    if len(powers) == _MAX_SIMULATED and 0 < power < powers[-1]:
        return None, _MAX_SIMULATED, f"{name} is below beta^{_MAX_SIMULATED}"
    return None, 0, (f"{name} = {float(power)!r} is no float32 power of "
                     f"{beta} (trained with other Adam betas?)")


# Reference: docs/original.md#adam-state-across-stages
def steps_from_powers(beta1_power, beta2_power=None, beta1: float = 0.9,
                      beta2: float = 0.999) -> AdamSteps:
    """The Adam updates that TF1's ``beta1_power``/``beta2_power`` record.

    TF1 starts each power at float32(beta) and multiplies it by beta in
    float32 after every update, so ``n`` is found by replaying that sequence
    and matching the stored value bit for bit (not by a logarithm, whose
    rounding error after thousands of float32 products can be a whole step).
    When ``beta1_power`` has underflowed to 0.0 (from 828 updates on with
    beta1 = 0.9), ``beta2_power`` still tells ``n`` exactly up to 87,292
    updates (0.999^(1+n) stays a normal float32 that long, and consecutive
    powers differ by 0.1 %, far more than float32 rounding); that ``n`` is
    used only if it is consistent with ``beta1_power`` being 0.0, i.e. at or
    beyond the update where 0.9^(1+n) underflows. Otherwise, or when both
    powers underflowed, the count is unknown and a lower bound is given.

    Args:
        beta1_power, beta2_power: the stored float32 values (beta2_power may
            be None when absent).
        beta1, beta2: the Adam betas the powers were made with.
    """
    found = [("beta1_power",) + _steps_from_power("beta1_power",
                                                 beta1_power, beta1)]
    if beta2_power is not None:
        found.append(("beta2_power",) + _steps_from_power(
            "beta2_power", beta2_power, beta2))
    exact = {steps for _, steps, _, _ in found if steps is not None}
    at_least = max(bound for _, _, bound, _ in found)
    reasons = [why for _, _, _, why in found if why]
    if len(exact) == 1:
        (steps,) = exact
        if steps >= at_least:
            return AdamSteps(steps)
        names = " and ".join(n for n, s, _, _ in found if s == steps)
        reasons.append(f"inconsistent with {names}, which says {steps}")
    elif len(exact) > 1:
        reasons.append("beta1_power and beta2_power disagree (" + " vs ".join(
            str(s) for s in sorted(exact)) + " steps)")
        at_least = 0
    return AdamSteps(None, at_least, "; ".join(reasons))


# Reference: docs/original.md#adam-state-across-stages
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
    def steps(self) -> AdamSteps:
        """Updates recorded by the beta powers (eager): ``int(opt.steps)``, or
        ``opt.steps.exact`` (None when unknown, e.g. after an original
        checkpoint whose beta1_power underflowed), ``opt.steps.describe()``."""
        return steps_from_powers(self.beta1_power.numpy(),
                                 self.beta2_power.numpy(), self.beta1,
                                 self.beta2)

    def apply_gradients(self, gradients) -> None:
        """Applies one update; ``gradients`` aligned with the variables.

        A None gradient (a variable the loss does not reach, e.g. an
        inactive ladder's skipped decoder branch) is a zero gradient: the
        update TF1 applies to the original's zero-multiplied branches, where
        m and v decay and the variable moves by ``lr_t * m / (sqrt(v) +
        epsilon)``. While m and v are both 0 (always, for a branch that has
        never been active) that update changes nothing (m and v stay 0, the
        variable moves by 0), so it is then not run.
        """
        lr = tf.constant(self.learning_rate, tf.float32)
        beta1 = tf.constant(self.beta1, tf.float32)
        beta2 = tf.constant(self.beta2, tf.float32)
        epsilon = tf.constant(self.epsilon, tf.float32)
        gradients = list(gradients)
        if len(gradients) != len(self._variables):
            raise ValueError(f"{len(gradients)} gradients for "
                             f"{len(self._variables)} variables")
        for var, m, v, grad in zip(self._variables, self.m, self.v, gradients):
            def apply(grad, var=var, m=m, v=v):
                tf.raw_ops.ResourceApplyAdam(
                    var=var.handle, m=m.handle, v=v.handle,
                    beta1_power=self.beta1_power,
                    beta2_power=self.beta2_power, lr=lr, beta1=beta1,
                    beta2=beta2, epsilon=epsilon, grad=grad,
                    use_locking=False, use_nesterov=False)
                return tf.constant(True)

            if grad is not None:
                apply(grad)
                continue
            # Reference: docs/original.md#zero-branch-skipping
            slots_used = tf.logical_or(tf.reduce_any(tf.not_equal(m, 0.0)),
                                       tf.reduce_any(tf.not_equal(v, 0.0)))
            tf.cond(slots_used,
                    lambda var=var, apply=apply: apply(
                        tf.zeros(var.shape, var.dtype)),
                    lambda: tf.constant(False))
        # Reference: docs/original.md#tf1-adam
        # TF1's _finish runs after every variable's update.
        self.beta1_power.assign(self.beta1_power * beta1)
        self.beta2_power.assign(self.beta2_power * beta2)


def _slot_name(variable: tf.Variable, slot: str) -> str:
    return variable.name.split(":")[0].replace("/", "_") + "_" + slot
