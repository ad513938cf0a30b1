"""The stage geometry: which ladders are active and which are faded in.

Pure functions of (stage, L); no TensorFlow. Ladders are numbered 1..L from
the bottom; stage s (1..L) activates ladders L, L-1, ..., L-s+1. The model
uses them to mask and fade its branches, the trainer to weight the KL terms.
"""

from __future__ import annotations

from typing import Optional


# Reference: docs/original.md#progressive-stages
def active_ladders(stage: int, num_ladders: int) -> list[int]:
    """Ladders trained at ``stage``, top first."""
    check_stage(stage, num_ladders)
    return list(range(num_ladders, num_ladders - stage, -1))


def new_ladder(stage: int, num_ladders: int) -> Optional[int]:
    """The ladder that switches on at ``stage`` (None at stage 1: no fade)."""
    check_stage(stage, num_ladders)
    return None if stage == 1 else num_ladders - stage + 1


def encoder_fade_ladder(stage: int, num_ladders: int,
                        off_by_one: bool) -> Optional[int]:
    """The ladder whose encoder input ``h_l`` is multiplied by alpha.

    Reference: docs/original.md#celeba-encoder-fade
    The original CelebA encoder copies the small model's rule
    (ladder 4 - stage for stages 2 and 3), one stage early: the ladder that
    really switches on gets no encoder fade and nothing fades at stage 4.
    ``off_by_one`` reproduces that; otherwise the new ladder is faded.
    """
    if not off_by_one:
        return new_ladder(stage, num_ladders)
    check_stage(stage, num_ladders)
    ladder = 4 - stage
    return ladder if stage >= 2 and ladder >= 1 else None


# Reference: docs/original.md#progressive-stages
def decoder_multiplier_kinds(stage: int, num_ladders: int) -> dict[int, str]:
    """Per ladder below the top: ``"off"`` (x0), ``"fade"`` (x alpha) or ``"on"``."""
    active = set(active_ladders(stage, num_ladders))
    fading = new_ladder(stage, num_ladders)
    kinds = {}
    for ladder in range(1, num_ladders):
        if ladder not in active:
            kinds[ladder] = "off"
        elif ladder == fading:
            kinds[ladder] = "fade"
        else:
            kinds[ladder] = "on"
    return kinds


def check_stage(stage: int, num_ladders: int) -> None:
    if not 1 <= stage <= num_ladders:
        raise ValueError(f"stage must be in 1..{num_ladders}, got {stage}")
