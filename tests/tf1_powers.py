"""TF1 Adam's beta powers as the original computes them on CPU: an
independent reference for the step-count tests (plain float32 NumPy)."""

import numpy as np

TINY = np.finfo(np.float32).tiny


def tf1_power(beta, updates):
    """beta_power after ``updates`` Adam updates, as TF1 on CPU computes it:
    float32(beta), then ``*= beta`` in float32, denormals flushed to 0."""
    power = np.float32(beta)
    for _ in range(updates):
        power = np.float32(power * np.float32(beta))
        if power < TINY:
            power = np.float32(0.0)
    return power


def first_zero(beta):
    """The number of updates after which TF1's beta_power is 0.0."""
    power, updates = np.float32(beta), 0
    while power != 0:
        power = np.float32(power * np.float32(beta))
        if power < TINY:
            power = np.float32(0.0)
        updates += 1
    return updates
