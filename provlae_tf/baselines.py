"""The non-progressive baselines of ``--model``, as flag values.

pro-VLAE is compared with two models trained without its progression; both
run through the same trainer, run directory and evaluation modes:

- ``vlae``: the same ladder network with every ladder active from the first
  step (the original's ``--train_seq=L`` on an empty directory), without
  fade-in or pre-KL;
- ``beta_vae``: one ladder of ``L * z_dim`` latents on the top ladder's
  encoder and decoder path (see :mod:`provlae_tf.model.beta_vae`).

Both train for ``L * --epoch_size`` epochs, as many as the whole progressive
run, in one stage. ``--fadein`` and ``--KL`` do not apply to them (there is
no ladder to fade in and none inactive); the config records them off.
"""

from __future__ import annotations

from typing import Any, Collection, Mapping

from provlae_tf.errors import UserError
from provlae_tf.flag_checks import parse_train_seq


# Reference: docs/original.md#baselines
def apply_model_kind(values: Mapping[str, Any], num_ladders: int,
                     explicit: Collection[str] = ()) -> dict[str, Any]:
    """Flag values ``{name: value}`` with ``--model``'s schedule applied.

    Args:
        values: every flag's value, ``"model"`` and ``"train_seq"`` included.
        num_ladders: L of the architecture.
        explicit: the flags the user set.

    Returns:
        A copy; for a baseline, ``train_seq`` is its one stage, ``epoch_size``
        the whole progressive run's epochs and fade-in and pre-KL are off.

    Raises:
        UserError: a ``--train_seq`` that names a stage the model lacks.
    """
    values = dict(values)
    kind = values["model"]
    if kind == "provlae":
        values["train_seq"] = parse_train_seq(str(values["train_seq"]),
                                               num_ladders)
        return values
    # The ladder network's last stage, or the single ladder's only one.
    stage = str(num_ladders) if kind == "vlae" else "1"
    train_seq = str(values["train_seq"])
    if "train_seq" in explicit and train_seq not in ("all", stage):
        raise UserError(
            f"--train_seq={train_seq}: --model={kind} trains in one stage "
            f"(stage {stage}, every ladder from the first step); expected "
            f"'all' or {stage}, or --model=provlae for the progressive stages.")
    values.update(train_seq=stage, fadein=False, KL=False,
                  epoch_size=num_ladders * values["epoch_size"])
    return values
