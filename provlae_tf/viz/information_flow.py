"""The information flow across stages: KL and I(x; z_l) per ladder.

At the end of every stage the trainer encodes a fixed random subset of the
training images (the same subset at every stage), estimates per ladder the
mean ``KL(q(z_l | x) || p(z_l))`` and ``I(x; z_l)`` (aggregate posterior over
the subset, so ``I`` is at most ``log(subset size)``), keeps them in
``<run>/information.json`` and redraws ``<run>/images/information_flow.png``.
This is the paper's picture of progressive learning: each new stage's ladder
takes information while the ones above keep theirs.
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np

from provlae_tf.data.base import ImageSource
from provlae_tf.metrics.encoding import encode_dataset
from provlae_tf.metrics.information import information_per_ladder
from provlae_tf.viz import codes as codes_lib
from provlae_tf.viz import plots
from provlae_tf.viz.evaluation import load_json, save_json

INFORMATION_FILE = "information.json"
PLOT_FILE = "information_flow.png"
# rng_for purposes: the subset, the sampling noise, the estimate's queries.
_SUBSET_RNG, _NOISE_RNG, _QUERY_RNG = 400, 401, 402


def stage_information(model, source: ImageSource, *, num_images: int,
                      num_samples: int = 1000, seed: int = 0) -> dict:
    """KL and I(x; z_l) per ladder (1..L) of the model at its stage.

    Args:
        model: the model.
        source: the training images.
        num_images: size of the fixed random subset (all images if fewer).
        num_samples: query points of each I(x; z_l) estimate.
        seed: chooses the subset and seeds the estimate.
    """
    indices = codes_lib.subset_indices(source.num_examples, num_images, seed,
                                       _SUBSET_RNG)
    encoded = encode_dataset(model, source, codes_lib.rng_for(seed, _NOISE_RNG),
                             indices=indices)
    z_dim = model.config.z_dim
    information = information_per_ladder(
        encoded.samples, encoded.params, z_dim, model.num_ladders,
        codes_lib.rng_for(seed, _QUERY_RNG), num_samples)
    return {"kl": encoded.kl_per_ladder(z_dim).tolist(),
            "mutual_information": information.tolist(),
            "num_images": int(len(indices)),
            "max_information": float(np.log(len(indices)))}


def read_information(run_dir: str) -> dict:
    """``{stage: record}`` from ``<run>/information.json`` ({} if none)."""
    path = os.path.join(run_dir, INFORMATION_FILE)
    if not os.path.exists(path):
        return {}
    return {int(stage): record
            for stage, record in load_json(path)["stages"].items()}


def plot_information(records: dict, path: str) -> Optional[str]:
    """The information-flow plot of ``read_information``'s records."""
    if not records:
        return None
    return plots.plot_information_flow(
        {s: r["kl"] for s, r in records.items()}, path,
        mutual_information={s: r["mutual_information"]
                            for s, r in records.items()})


def record_stage(model, source: ImageSource, run_dir: str, stage: int, *,
                 num_images: int, num_samples: int = 1000,
                 seed: int = 0) -> str:
    """Adds ``stage``'s record to information.json and redraws the plot.

    Returns:
        The path of the plot.
    """
    records = read_information(run_dir)
    records[stage] = stage_information(model, source, num_images=num_images,
                                       num_samples=num_samples, seed=seed)
    save_json(os.path.join(run_dir, INFORMATION_FILE),
              {"stages": {str(s): r for s, r in sorted(records.items())}})
    return plot_information(records, os.path.join(run_dir, "images",
                                                  PLOT_FILE))
