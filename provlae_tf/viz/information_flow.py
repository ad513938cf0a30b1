"""The information-flow plot: KL and I(x; z_l) per ladder at each stage end.

The values are computed by :mod:`provlae_tf.evaluation.information_flow`; this
module only draws them.
"""

from __future__ import annotations

from typing import Optional

from provlae_tf.viz import plots

PLOT_FILE = "information_flow.png"


def plot_information(records: dict, path: str) -> Optional[str]:
    """The information-flow plot of ``{stage: record}`` (None if empty)."""
    if not records:
        return None
    return plots.plot_information_flow(
        {s: r["kl"] for s, r in records.items()}, path,
        mutual_information={s: r["mutual_information"]
                            for s, r in records.items()})
