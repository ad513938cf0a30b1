"""Which ladder holds each factor, over seeds: the paper's claim that the
ladders hold different factors, read from every run's MI matrix.

For one run and one factor, the holding ladder is the ladder of the latent
with the largest normalised mutual information with that factor (the latent
MIG ranks first), read from ``metrics.json``'s ``mi_normed`` (factors x
latents, ladder 1's latents first) and ``mig_factors`` (the rows' names).
Over a model's seeds, a factor's entry counts the seeds per holding ladder
and averages that largest normalised MI. Models with one ladder (the
beta-VAE) have no entry.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Sequence

import numpy as np

from provlae_tf.experiments.collect import RunResult


@dataclasses.dataclass(frozen=True)
class FactorLadders:
    """One factor of one model over its seeds.

    Attributes:
        dataset, model, factor: which.
        seeds_per_ladder: ``{ladder: seeds}``, ladders 1..L (1 = bottom),
            most seeds first (ties: the higher ladder first).
        mean_mi: mean over the seeds of the factor's largest normalised MI.
        n: the seeds with an MI matrix.
    """

    dataset: str
    model: str
    factor: str
    seeds_per_ladder: dict
    mean_mi: float
    n: int


def holding_ladders(mi_normed, num_ladders: int) -> list[tuple[int, float]]:
    """Per factor (row), ``(ladder, largest normalised MI)``; ladders are
    numbered from 1 (bottom), the columns are ladder 1's latents first.

    Raises:
        ValueError: the columns do not split into ``num_ladders`` ladders.
    """
    matrix = np.asarray(mi_normed, np.float64)
    if matrix.ndim != 2 or matrix.shape[1] % num_ladders:
        raise ValueError(f"MI matrix of shape {matrix.shape} does not split "
                         f"into {num_ladders} ladders")
    z_dim = matrix.shape[1] // num_ladders
    best = np.argmax(matrix, axis=1)
    return [(int(j) // z_dim + 1, float(matrix[i, j]))
            for i, j in enumerate(best)]


def factor_ladders(results: Sequence[RunResult]) -> list[FactorLadders]:
    """Every (dataset, multi-ladder model, factor), in the results' order."""
    held = collections.defaultdict(list)  # (dataset, model, factor) -> [...]
    for result in results:
        matrix = result.metrics.get("mi_normed")
        names = result.metrics.get("mig_factors")
        if result.num_ladders < 2 or matrix is None or names is None:
            continue
        for name, pair in zip(names, holding_ladders(matrix,
                                                     result.num_ladders)):
            held[(result.cell.dataset, result.cell.model, name)].append(pair)
    rows = []
    for (dataset, model, factor), pairs in held.items():
        counts = collections.Counter(ladder for ladder, _ in pairs)
        ordered = dict(sorted(counts.items(), key=lambda c: (-c[1], -c[0])))
        rows.append(FactorLadders(dataset, model, factor, ordered,
                                  float(np.mean([mi for _, mi in pairs])),
                                  len(pairs)))
    return rows


def format_entry(row: FactorLadders) -> str:
    """``L3 ×4, L2 ×1 (0.41)``: seeds per holding ladder, then the mean
    largest normalised MI."""
    held = ", ".join(f"L{ladder} ×{n}"
                     for ladder, n in row.seeds_per_ladder.items())
    return f"{held} ({row.mean_mi:.2f})"
