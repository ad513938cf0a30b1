"""Dataset-mean reconstruction loss and KL per ladder (the original's mode 2).

Reference: docs/original.md#mean-losses
By default the mean is the original's: full batches only, the images of a
last partial batch left out of the sum but counted in the divisor. The exact
mean (every image evaluated counts once in the sum and once in the divisor,
whatever the batch size) is the opt-in fix.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from provlae_tf import distributions, random_streams
from provlae_tf.data.base import ImageSource
from provlae_tf.viz import encode_decode

ProgressFn = Callable[[int, int], None]


# Reference: docs/original.md#mean-losses
def evaluate_losses(model, source: ImageSource, batch_size: int = 256,
                    max_images: Optional[int] = None, seed: int = 0,
                    progress: Optional[ProgressFn] = None,
                    mean: str = "exact") -> dict:
    """Mean losses over a dataset, the terms of the training loss.

    The reconstruction term decodes one sample from q(z|x) per image, as the
    training loss does; the noise is stateless, seeded by ``seed`` and the
    batch index, so the result is reproducible. Alpha is 1 and the stage the
    model's.

    Args:
        model: a :class:`~provlae_tf.model.ladder.ProVLAE`.
        source: the images.
        batch_size: images per forward pass.
        max_images: evaluate a uniform random subset of this many images
            (drawn with ``seed``) instead of the whole dataset.
        seed: seeds the subset and the sampling noise.
        progress: called as ``progress(images_done, images_total)`` after
            every batch.
        mean: ``"exact"``, or ``"original"``: the original's sum over the
            full batches of ``batch_size`` images in order (the last partial
            batch left out) divided by the number of images.

    Returns:
        ``{"reconstruction": float, "kl": [float per ladder 1..L],
        "kl_total": float, "num_images": int (the divisor),
        "images_evaluated": int, "batch_size": int, "mean": str,
        "stage": int}``.
    """
    if mean not in ("exact", "original"):
        raise ValueError(f"mean={mean!r}: expected 'exact' or 'original'")
    indices = random_streams.subset_indices(
        source.num_examples, max_images, seed, random_streams.EVALUATION_SUBSET)
    # Reference: docs/original.md#mean-losses
    evaluated = (len(indices) if mean == "exact"
                 else len(indices) // batch_size * batch_size)

    @tf.function(reduce_retracing=True, autograph=False)
    def batch_sums(x, noise_seed):
        output = model(x, alpha=1.0, seed=noise_seed)
        recon = tf.reduce_sum(
            distributions.reconstruction_loss(x, output.logits))
        kl = tf.stack([tf.reduce_sum(distributions.kl_to_standard_normal(
            c.mean, c.log_var)) for c in output.ladders])
        return recon, kl

    # Sums in float64: a float32 running sum over ~700k images loses digits.
    recon_sum, kl_sum = 0.0, np.zeros(model.num_ladders)
    for b, start in enumerate(range(0, evaluated, batch_size)):
        part = indices[start:start + batch_size]
        x = tf.constant(encode_decode.load_images(source, part))
        recon, kl = batch_sums(x, tf.constant([seed, b], tf.int32))
        recon_sum += float(recon)
        kl_sum += kl.numpy().astype(np.float64)
        if progress is not None:
            progress(start + len(part), evaluated)
    n = max(len(indices), 1)
    kl_mean = kl_sum / n
    return {"reconstruction": recon_sum / n, "kl": kl_mean.tolist(),
            "kl_total": float(kl_mean.sum()), "num_images": int(len(indices)),
            "images_evaluated": int(evaluated), "batch_size": int(batch_size),
            "mean": mean, "stage": int(model.stage)}

