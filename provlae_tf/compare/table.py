"""Our results against the original's: rows of differences, a table, JSON.

Each row is one tensor (or one group of checkpoint tensors after the
training step) at one (stage, alpha): the largest absolute difference
``max|ours - orig|`` and the difference relative to the tensor's scale,
``max|ours - orig| / max|orig|``; a row passes when that relative difference
is within the tolerance. A group's row holds its worst tensor. A value
missing on one side, a shape that differs or a NaN on one side only is an
infinite difference.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Optional

import numpy as np

from provlae_tf.compare import spec

_TINY = 1e-30  # the scale of an all-zero tensor
# Groups of tensors of the step, in table order.
STATE_GROUPS = ("gradients", "variables", "moving statistics", "Adam m",
                "Adam v", "beta powers")
ADJUSTED = "variables, update-adjusted"
FOOTNOTE = (
    "update-adjusted: each side's variables after the step plus its own "
    "Adam update lr_t*m/(sqrt(v)+eps) from its own slots (compared in their "
    "rows), i.e. the variables the step started from. Adam's update "
    "amplifies rounding-level gradient differences where a gradient is "
    "near 0 (a first step from zero slots moves each variable by about "
    "lr*sign(g)), so the raw variables after a step may differ by up to "
    "the learning rate there: their row is for information (info).")
KL_NOTE = (
    "kl rows: relative to max(|KL|, z_dim/2), the size of the unit terms "
    "the KL sums (-0.5*sum(1 + log_var - mean^2 - exp(log_var))): a ladder "
    "whose posterior is near its prior has a KL near 0, which float32 "
    "cancellation leaves with an absolute error of about 1e-8.")
_KL = re.compile(r"(?:^|[_ ])kl\d+$")
# The groups held to the step tolerance (see STEP_NOTE).
STEP_GROUPS = ("gradients", "Adam m", "Adam v")
STEP_NOTE = (
    "gradients, Adam m, Adam v: held to the step tolerance {tolerance:g}. "
    "A gradient is a sum over the batch and the feature map (16,384 terms "
    "per element for a BN offset of the first layer at batch 16), rounded "
    "in each kernel's own summation order: about 1e-7 of the sum of the "
    "terms' magnitudes, which is more than 1e-5 of the result where the "
    "terms cancel (measured up to 2.5e-5 on a trained run's BN offsets).")


@dataclasses.dataclass
class Row:
    """One compared tensor or group.

    Attributes:
        stage, alpha: where it was computed (None for a whole-run row).
        tensor: its name (``step: Adam m`` for a group of state tensors).
        max_abs: ``max|ours - orig|``.
        relative: ``max_abs / max|orig|``.
        tolerance: the largest relative difference that passes.
        worst: the group's tensor with the largest relative difference, or
            what is missing.
        count: tensors in the row.
        informational: shown, but not part of the verdict.
    """

    stage: Optional[int]
    alpha: Optional[float]
    tensor: str
    max_abs: float
    relative: float
    tolerance: float
    worst: str = ""
    count: int = 1
    informational: bool = False

    @property
    def ok(self) -> bool:
        return self.relative <= self.tolerance  # False for NaN

    def as_dict(self) -> dict:
        finite = lambda v: v if math.isfinite(v) else str(v)
        return {"stage": self.stage, "alpha": self.alpha,
                "tensor": self.tensor, "max_abs": finite(self.max_abs),
                "relative": finite(self.relative), "ok": self.ok,
                "worst": self.worst, "count": self.count,
                "informational": self.informational}


def difference(ours, original, floor: float = 0.0) -> tuple[float, float]:
    """``(max|ours - orig|, that / max(max|orig|, floor))``, in float64."""
    a = np.asarray(ours, np.float64)
    b = np.asarray(original, np.float64)
    if a.shape != b.shape:
        return math.inf, math.inf
    if a.size == 0:
        return 0.0, 0.0
    both_nan = np.isnan(a) & np.isnan(b)
    with np.errstate(invalid="ignore"):
        diff = np.where(both_nan, 0.0, np.abs(a - b))
    if np.isnan(diff).any():
        return math.inf, math.inf
    finite = np.abs(b[np.isfinite(b)])
    scale = float(finite.max()) if finite.size else 0.0
    max_abs = float(diff.max())
    return max_abs, max_abs / max(scale, floor, _TINY)


def state_group(name: str) -> str:
    """The group of a checkpoint tensor (see :data:`STATE_GROUPS`)."""
    if name in ("beta1_power", "beta2_power"):
        return "beta powers"
    if name.endswith("/Adam"):
        return "Adam m"
    if name.endswith("/Adam_1"):
        return "Adam v"
    if "/moving_" in name:
        return "moving statistics"
    return "variables"


def _group_row(members: list, stage, alpha, name: str, tolerance: float,
               informational: bool = False) -> Row:
    """One row for a group of ``(relative, max_abs, tensor)``: its worst
    tensor's."""
    worst = max(members, key=lambda m: (not m[0] <= m[0], m[0]))
    return Row(stage, alpha, name, worst[1], worst[0], tolerance, worst[2],
               len(members), informational)


def _update(state: dict, name: str, learning_rate: float):
    """The Adam update a side applied to ``name`` in its step, recomputed
    from its slots and beta powers after the step (float64)."""
    beta1, beta2, epsilon = spec.ADAM
    get = lambda key: np.asarray(state[spec.STATE + key], np.float64)
    # The powers before the step (the step multiplied them by the betas).
    power1, power2 = get("beta1_power") / beta1, get("beta2_power") / beta2
    rate = learning_rate * np.sqrt(1 - power2) / (1 - power1)
    return rate * get(name + "/Adam") / (np.sqrt(get(name + "/Adam_1"))
                                         + epsilon)


def _adjusted(ours: dict, original: dict, names: list,
              learning_rate: float) -> list:
    """``(relative, max_abs, tensor)`` of the update-adjusted variables."""
    members = []
    for name in names:
        try:
            mine = (np.asarray(ours[spec.STATE + name], np.float64)
                    + _update(ours, name, learning_rate))
            theirs = (np.asarray(original[spec.STATE + name], np.float64)
                      + _update(original, name, learning_rate))
        except KeyError:  # no slots: counted in the raw rows
            continue
        max_abs, _ = difference(mine, theirs)
        # Relative to the variables' own scale, as their raw row.
        scale = np.abs(np.asarray(original[spec.STATE + name], np.float64))
        scale = float(np.nanmax(scale)) if scale.size else 0.0
        members.append((max_abs / max(scale, _TINY), max_abs, name))
    return members


def compare(ours: dict, original: dict, stage: Optional[int],
            alpha: Optional[float], tolerance: float,
            state_label: str = "step",
            learning_rate: Optional[float] = None,
            z_dim: Optional[int] = None,
            step_tolerance: Optional[float] = None) -> list[Row]:
    """Rows for two results of :mod:`.spec` (``{name: array}``).

    The gradient and state groups' rows are named ``<state_label>:
    <group>``. With ``learning_rate`` (the results hold one Adam step), the
    variables are judged update-adjusted (:data:`FOOTNOTE`) and their raw
    row is informational. KL rows are relative to at least ``z_dim / 2``
    (:data:`KL_NOTE`; ``z_dim`` defaults to the width of ``z_mean1``).
    The :data:`STEP_GROUPS` are held to ``step_tolerance`` (default
    ``tolerance``; :data:`STEP_NOTE`).
    """
    if step_tolerance is None:
        step_tolerance = tolerance
    if z_dim is None and "z_mean1" in original:
        z_dim = np.shape(original["z_mean1"])[-1]
    kl_floor = 0.5 * (z_dim or 0)
    rows, groups = [], {g: [] for g in STATE_GROUPS}
    names = list(original) + [k for k in ours if k not in original]
    for name in names:
        if name in ours and name in original:
            max_abs, relative = difference(
                ours[name], original[name],
                kl_floor if _KL.search(name) else 0.0)
            missing = ""
        else:
            max_abs = relative = math.inf
            missing = "missing in " + ("ours" if name in original
                                       else "the original's")
        if name.startswith(spec.GRAD):
            groups["gradients"].append(
                (relative, max_abs, f"{name[len(spec.GRAD):]} {missing}"
                 .strip()))
        elif name.startswith(spec.STATE):
            short = name[len(spec.STATE):]
            groups[state_group(short)].append(
                (relative, max_abs, f"{short} {missing}".strip()))
        else:
            rows.append(Row(stage, alpha, name, max_abs, relative, tolerance,
                            missing))
    adjusted = []
    if learning_rate is not None and groups["variables"]:
        adjusted = _adjusted(ours, original,
                             [m[2] for m in groups["variables"]],
                             learning_rate)
    for group, members in groups.items():
        if not members:
            continue
        label = f"{state_label}: {group}"
        if group == "variables" and adjusted:
            rows.append(_group_row(adjusted, stage, alpha,
                                   f"{state_label}: {ADJUSTED}", tolerance))
            label += ", raw"
        rows.append(_group_row(
            members, stage, alpha, label,
            step_tolerance if group in STEP_GROUPS else tolerance,
            informational=bool(group == "variables" and adjusted)))
    return rows


def passed(rows: list[Row]) -> bool:
    return all(row.ok for row in rows if not row.informational)


def kind(tensor: str) -> str:
    """A row's tensor without its ladder number (``kl2`` -> ``kl``)."""
    return re.sub(r"(?<=[a-z])\d+$", "", tensor)


def largest_by_kind(rows: list[Row]) -> dict:
    """The largest relative difference per :func:`kind` of tensor."""
    largest = {}
    for row in rows:
        key = kind(row.tensor)
        if key not in largest or not row.relative <= largest[key].relative:
            largest[key] = row
    return largest


def format_table(rows: list[Row]) -> str:
    """The rows as a fixed-width text table."""
    lines = [f"{'stage':>5} {'alpha':>5}  {'tensor':<38} {'max|diff|':>10} "
             f"{'relative':>10}  within"]
    for row in rows:
        stage = "" if row.stage is None else str(row.stage)
        alpha = "" if row.alpha is None else f"{row.alpha:g}"
        tensor = row.tensor + (f" ({row.count})" if row.count > 1 else "")
        note = "" if row.ok and row.count == 1 else f"  {row.worst}"
        verdict = "info" if row.informational else (
            "yes" if row.ok else "NO")
        lines.append(f"{stage:>5} {alpha:>5}  {tensor:<38} "
                     f"{row.max_abs:10.3g} {row.relative:10.3g}  "
                     f"{verdict:<4}{note}".rstrip())
    if any(ADJUSTED in row.tensor for row in rows):
        lines.append(FOOTNOTE)
    if any(_KL.search(row.tensor) for row in rows):
        lines.append(KL_NOTE)
    step = {row.tolerance for row in rows
            if row.tensor.split(": ", 1)[-1] in STEP_GROUPS}
    plain = {row.tolerance for row in rows if not row.informational} - step
    if step and step != plain:
        lines.append(STEP_NOTE.format(tolerance=max(step)))
    return "\n".join(lines)


def summary(rows: list[Row], tolerance: float) -> str:
    """One line: the verdict and the largest difference that counts."""
    rows = [row for row in rows if not row.informational]
    bad = [row for row in rows if not row.ok]
    worst = max(rows, key=lambda r: (not r.relative <= r.relative,
                                      r.relative), default=None)
    largest = ""
    if worst is not None:
        where = "" if worst.stage is None else f", stage {worst.stage}"
        where += "" if worst.alpha is None else f", alpha {worst.alpha:g}"
        largest = (f"; largest relative difference {worst.relative:.3g} "
                   f"({worst.tensor}{where})")
    if not bad:
        return (f"All {len(rows)} rows within their tolerance (relative; "
                f"{tolerance:g} unless noted){largest}.")
    return (f"{len(bad)} of {len(rows)} rows beyond their tolerance "
            f"(relative; {tolerance:g} unless noted){largest}.")


def to_json(rows: list[Row], tolerance: float, **about) -> dict:
    """The table as a JSON-ready dict (non-finite numbers as strings)."""
    return {**about, "tolerance": tolerance, "passed": passed(rows),
            "rows": [row.as_dict() for row in rows]}
