"""The information flow across stages: KL and I(x; z_l) per ladder.

At the end of every stage the trainer encodes a fixed random subset of the
training images (the same subset at every stage), estimates per ladder the
mean ``KL(q(z_l | x) || p(z_l))`` and ``I(x; z_l)`` (aggregate posterior over
the subset, so ``I`` is at most ``log(subset size)``) and keeps them in
``<run>/information.json`` (:mod:`provlae_tf.run_files`);
:mod:`provlae_tf.viz.information_flow` draws
them. This is the paper's picture of progressive learning: each new stage's
ladder takes information while the ones above keep theirs.
"""

from __future__ import annotations

import numpy as np

from provlae_tf import random_streams, run_files
from provlae_tf.data.base import ImageSource
from provlae_tf.evaluation.encoding import encode_dataset
from provlae_tf.metrics.information import information_per_ladder


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
    indices = random_streams.subset_indices(
        source.num_examples, num_images, seed,
        random_streams.INFORMATION_SUBSET)
    encoded = encode_dataset(
        model, source,
        random_streams.generator(seed, random_streams.INFORMATION_NOISE),
        indices=indices)
    z_dim = model.config.latents_per_ladder
    information = information_per_ladder(
        encoded.samples, encoded.params, z_dim, model.num_ladders,
        random_streams.generator(seed, random_streams.INFORMATION_QUERIES),
        num_samples)
    return {"kl": encoded.kl_per_ladder(z_dim).tolist(),
            "mutual_information": information.tolist(),
            "num_images": int(len(indices)),
            "max_information": float(np.log(len(indices)))}


def record_stage(model, source: ImageSource, run_dir: str, stage: int, *,
                 num_images: int, num_samples: int = 1000,
                 seed: int = 0) -> dict:
    """Adds ``stage``'s record to information.json.

    Returns:
        Every stage's record so far, ``{stage: record}``.
    """
    records = run_files.read_information(run_dir)
    records[stage] = stage_information(model, source, num_images=num_images,
                                       num_samples=num_samples, seed=seed)
    run_files.write_information(run_dir, records)
    return records
