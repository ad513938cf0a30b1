"""Encoding images to latent codes and decoding codes to images, in NumPy.

Everything uses alpha = 1 and the model's current stage, as the original's
evaluation and visualisation do. A "code" is a list with one
array per ladder, ladder 1 (closest to the pixels) first, as
:meth:`ProVLAE.decode` takes it.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
import tensorflow as tf

from provlae_tf.data.base import ImageSource, to_float
from provlae_tf.distributions import sample_posterior
from provlae_tf.evaluation.encoding import encode_images

CODE_SOURCES = ("sample", "mean")


class Posterior(NamedTuple):
    """One image batch's posterior per ladder: lists of (n, z_dim) arrays."""

    mean: list
    log_var: list
    sample: list


def load_images(source: ImageSource, indices: Sequence[int]) -> np.ndarray:
    """float32 images in [0, 1], shape (n, H, W, C), from an ImageSource."""
    indices = np.asarray(indices, np.int64)
    return to_float(source.images(indices), source.max_value)


def posterior(model, x: np.ndarray, rng: np.random.Generator) -> Posterior:
    """Encodes ``x`` and draws one sample per image with noise from ``rng``.

    The sample is drawn as the model draws it (from the log-variance before
    the CelebA network's clip), which is the original's sampled code
    (``inference_z``), with the noise given explicitly so the result depends
    only on ``rng``.
    """
    n, z_dim = len(x), model.config.latents_per_ladder
    eps = rng.standard_normal((model.num_ladders, n, z_dim)).astype(np.float32)
    means, log_vars, raw = (np.split(a, model.num_ladders, axis=1)
                            for a in encode_images(model, x))
    return Posterior(means, log_vars,
                     [sample_posterior(m, v, e)
                      for m, v, e in zip(means, raw, eps)])


# Reference: docs/original.md#traversals
def image_code(model, x: np.ndarray, rng: np.random.Generator,
               code_from: str = "sample") -> tuple[list, list]:
    """One image's code and posterior variances.

    Args:
        model: a :class:`~provlae_tf.model.ladder.ProVLAE`.
        x: one float image ``(H, W, C)``.
        rng: noise for the sample.
        code_from: ``"sample"`` (a draw from q(z|x), as the original) or
            ``"mean"`` (the posterior mean).

    Returns:
        ``(code, variances)``: per ladder, a ``(z_dim,)`` code and the
        posterior variances ``exp(log_var)`` of this image.
    """
    if code_from not in CODE_SOURCES:
        raise ValueError(f"code_from must be one of {CODE_SOURCES}, got "
                         f"{code_from!r}")
    post = posterior(model, np.asarray(x, np.float32)[None], rng)
    chosen = post.sample if code_from == "sample" else post.mean
    return ([c[0] for c in chosen],
            [np.exp(v[0].astype(np.float64)) for v in post.log_var])


def stack_codes(codes: Sequence[Sequence[np.ndarray]]) -> list:
    """Per-image codes (each a list of per-ladder (z_dim,) arrays) to a
    per-ladder list of (n, z_dim) float32 batches."""
    return [np.stack([c[l] for c in codes]).astype(np.float32)
            for l in range(len(codes[0]))]


def decode_images(model, codes: Sequence[np.ndarray],
                  batch_size: int = 128) -> np.ndarray:
    """Decodes per-ladder (n, z_dim) codes to float images sigmoid(logits).

    Returns:
        float32 ``(n, 64, 64, C)`` in [0, 1].
    """
    n = len(codes[0])
    out = []
    for start in range(0, n, batch_size):
        part = [tf.constant(c[start:start + batch_size], tf.float32)
                for c in codes]
        out.append(tf.sigmoid(model.decode(part, alpha=1.0)).numpy())
    return np.concatenate(out)
