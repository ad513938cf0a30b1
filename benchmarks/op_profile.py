"""Per-op-type thread time of a TensorFlow profile (an ``.xplane.pb``).

TensorFlow's profiler records, on every host thread, one event per op run
(named ``<op name>:<op type>``), nested executor and thread-pool events,
and the intra-op pool's work regions. :func:`op_type_times` sums the op
events by type, per training step; their total is the thread time the
inter-op threads spent inside kernels (what each kernel did on the
intra-op pool is inside its event). Used by ``vs_original.py --profile``.
"""

from __future__ import annotations

import collections
import glob
import os
import re

# "<scope>/<name>:<OpType>"; not "Class::Method" events of the runtime.
_OP_EVENT = re.compile(r"^[^:]+:(_*[A-Z][A-Za-z0-9_]*)$")


def latest_xplane(logdir: str) -> str:
    """The newest ``*.xplane.pb`` under ``logdir``."""
    found = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"),
                      recursive=True)
    if not found:
        raise FileNotFoundError(f"no .xplane.pb under {logdir}")
    return max(found, key=os.path.getmtime)


def op_type_times(path: str, steps: int) -> dict:
    """``{"types": {op type: ms per step}, "ops": ms per step of all op
    events, "span": ms per step from the first to the last op event,
    "count": op events per step}`` of the host plane of ``path``."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    totals, count = collections.Counter(), 0
    first, last = None, None
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        names = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            start = line.timestamp_ns * 1000  # picoseconds
            for event in line.events:
                match = _OP_EVENT.match(names[event.metadata_id])
                if match is None:
                    continue
                totals[match.group(1)] += event.duration_ps
                count += 1
                begin = start + event.offset_ps
                end = begin + event.duration_ps
                first = begin if first is None else min(first, begin)
                last = end if last is None else max(last, end)
    per_step = 1e-9 / steps  # picoseconds to milliseconds per step
    return {"types": {t: v * per_step for t, v in totals.items()},
            "ops": sum(totals.values()) * per_step,
            "span": ((last - first) * per_step) if count else 0.0,
            "count": count / steps}


def side_by_side(ours: dict, original: dict, top: int = 25) -> str:
    """A text table of two :func:`op_type_times` results, largest first."""
    types = sorted(set(ours["types"]) | set(original["types"]),
                   key=lambda t: -max(ours["types"].get(t, 0),
                                      original["types"].get(t, 0)))
    lines = [f"{'op type':28} {'original ms':>11} {'ours ms':>9} "
             f"{'ours-orig':>9}"]
    rest = [0.0, 0.0]
    for i, t in enumerate(types):
        a, b = original["types"].get(t, 0.0), ours["types"].get(t, 0.0)
        if i < top:
            lines.append(f"{t:28} {a:11.2f} {b:9.2f} {b - a:+9.2f}")
        else:
            rest[0] += a
            rest[1] += b
    if len(types) > top:
        lines.append(f"{'(other types)':28} {rest[0]:11.2f} {rest[1]:9.2f} "
                     f"{rest[1] - rest[0]:+9.2f}")
    for key, title in (("ops", "all op events (thread ms)"),
                       ("span", "first to last op (ms)"),
                       ("count", "op events per step")):
        a, b = original[key], ours[key]
        lines.append(f"{title:28} {a:11.2f} {b:9.2f} {b - a:+9.2f}")
    return "\n".join(lines)
