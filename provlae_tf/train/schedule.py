"""The training schedule: fade-in coefficient and KL weights per stage.

Pure functions of (stage, L, flags); no TensorFlow. Which ladders a stage
activates is the model's geometry (:mod:`provlae_tf.model.stages`).
"""

from __future__ import annotations

from provlae_tf.model.stages import active_ladders


# Reference: docs/original.md#fade-in
def fade_in_alpha(iteration_in_stage: int, duration: int) -> float:
    """``min(1, iter / duration)``; iter restarts at 0 every stage."""
    if duration <= 0:
        return 1.0
    return min(1.0, iteration_in_stage / duration)


# Reference: docs/original.md#loss-weights
def loss_weights(stage: int, num_ladders: int, beta: float, coff: float,
                 pre_kl: bool) -> list[float]:
    """KL weight per ladder 1..L: beta if active, else coff (pre-KL) or 0."""
    active = set(active_ladders(stage, num_ladders))
    inactive_weight = coff if pre_kl else 0.0
    return [beta if l in active else inactive_weight
            for l in range(1, num_ladders + 1)]
