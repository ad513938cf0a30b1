"""Latent traversals (the original's mode 2).

One image's code is held fixed while one latent dimension sweeps over
:data:`TRAVERSAL_VALUES`. Ladders are numbered 1..L from the bottom, as in
the model; dimensions within a ladder are 0-based array indices, so
``ladder3_z0`` is the first dimension of the most abstract ladder (L = 3).

The traversal codes are computed without the model
(:func:`traversal_codes`), so what reaches the decoder can be checked
directly.
"""

from __future__ import annotations

import os
from typing import NamedTuple, Sequence

import numpy as np

from provlae_tf.viz import encode_decode
from provlae_tf.viz import images as images_lib

# Reference: docs/original.md#traversals
TRAVERSAL_VALUES = np.linspace(-2.5, 2.5, 9)
# Reference: docs/original.md#selected-latents
# A latent whose posterior variance is below this is "selected" (in use):
# the encoder is confident about it, so it carries information about x.
SELECTION_THRESHOLD = 0.2
_LABEL_WIDTH = 48


class Latent(NamedTuple):
    """One latent dimension: ``ladder`` in 1..L, ``dim`` 0-based."""

    ladder: int
    dim: int

    @property
    def name(self) -> str:
        """File-name form, e.g. ``ladder3_z0``."""
        return f"ladder{self.ladder}_z{self.dim}"

    @property
    def label(self) -> str:
        """Short display form, e.g. ``L3 z0``."""
        return f"L{self.ladder} z{self.dim}"


class Traversal(NamedTuple):
    """The decoded sweep of one latent."""

    latent: Latent
    images: np.ndarray  # float (len(values), H, W, C)
    variance: float  # posterior variance of the traversed image
    selected: bool


# Reference: docs/original.md#traversals
def latent_order(num_ladders: int, z_dim: int) -> list[Latent]:
    """All latents from the top ladder L down to ladder 1, dims in order."""
    return [Latent(ladder, dim) for ladder in range(num_ladders, 0, -1)
            for dim in range(z_dim)]


def traversal_codes(base: Sequence[np.ndarray], latent: Latent,
                    values: Sequence[float] = TRAVERSAL_VALUES) -> list:
    """The codes the decoder gets for a sweep of ``latent``.

    Args:
        base: one image's code: per ladder (ladder 1 first) a ``(z_dim,)``
            array.
        latent: the latent to sweep.
        values: the values it takes, one per frame.

    Returns:
        Per frame, a list (ladder 1 first) of ``(z_dim,)`` float32 arrays:
        ``base`` with only ``latent`` replaced by that frame's value.
    """
    frames = []
    for value in values:
        code = [np.array(c, np.float32, copy=True) for c in base]
        code[latent.ladder - 1][latent.dim] = value
        frames.append(code)
    return frames


# Reference: docs/original.md#selected-latents
def selected_latents(variances: Sequence[np.ndarray],
                     threshold: float = SELECTION_THRESHOLD) -> list[Latent]:
    """Latents with posterior variance below ``threshold``, top ladder first.

    Args:
        variances: per ladder (ladder 1 first), ``(z_dim,)`` variances.
    """
    z_dim = len(variances[0])
    return [latent for latent in latent_order(len(variances), z_dim)
            if variances[latent.ladder - 1][latent.dim] < threshold]


# Reference: docs/original.md#traversals
def traverse(model, base: Sequence[np.ndarray],
             variances: Sequence[np.ndarray],
             values: Sequence[float] = TRAVERSAL_VALUES,
             threshold: float = SELECTION_THRESHOLD) -> list[Traversal]:
    """Decodes the sweep of every latent, top ladder first.

    Args:
        model: a :class:`~provlae_tf.model.ladder.ProVLAE` (used with
            alpha 1 at its stage).
        base: the traversed image's code (see :func:`codes.image_code`).
        variances: that image's posterior variances per ladder.
        values: the sweep.
        threshold: selection threshold on the variance.
    """
    latents = latent_order(model.num_ladders,
                           model.config.latents_per_ladder)
    frames = [code for latent in latents
              for code in traversal_codes(base, latent, values)]
    decoded = encode_decode.decode_images(model, encode_decode.stack_codes(frames))
    decoded = decoded.reshape(len(latents), len(values), *decoded.shape[1:])
    result = []
    for latent, sweep in zip(latents, decoded):
        variance = float(variances[latent.ladder - 1][latent.dim])
        result.append(Traversal(latent, sweep, variance, variance < threshold))
    return result


def _labels(traversals: Sequence[Traversal]) -> list[str]:
    # "*" marks a selected latent, as listed in the summary.
    return [t.latent.label + (" *" if t.selected else "")
            for t in traversals]


def _with_labels(body: np.ndarray, traversals: Sequence[Traversal],
                 cell_height: int, pad: int) -> np.ndarray:
    column = images_lib.label_column(_labels(traversals), cell_height, pad,
                                     _LABEL_WIDTH, body.shape[-1])
    return images_lib.hstack([column, body])


def combined_grid(traversals: Sequence[Traversal], pad: int = 2) -> np.ndarray:
    """One labelled image: a row per latent (top ladder first), a column per
    value. Selected latents carry a ``*`` after their label."""
    sweeps = np.stack([t.images for t in traversals])
    rows, cols, h = sweeps.shape[0], sweeps.shape[1], sweeps.shape[2]
    body = images_lib.grid(sweeps.reshape(-1, *sweeps.shape[2:]), rows, cols,
                           pad)
    return _with_labels(body, traversals, h, pad)


def combined_frames(traversals: Sequence[Traversal], pad: int = 2) -> list:
    """GIF frames, one per value: a labelled column of every latent."""
    sweeps = np.stack([t.images for t in traversals])
    h = sweeps.shape[2]
    return [_with_labels(
        images_lib.grid(sweeps[:, i], len(traversals), 1, pad), traversals, h,
        pad) for i in range(sweeps.shape[1])]


def write_traversals(traversals: Sequence[Traversal], out_dir: str,
                     prefix: str = "traverse", duration_ms: int = 200,
                     pad: int = 2) -> dict:
    """Writes a strip PNG and a GIF per latent and the combined PNG and GIF.

    Returns:
        ``{name: path}`` with names ``<prefix>_ladder<l>_z<d>.png|.gif`` and
        ``<prefix>_all.png|.gif``.
    """
    paths = {}

    def png(name: str, image: np.ndarray) -> None:
        paths[name] = images_lib.save_png(os.path.join(out_dir, name), image)

    def gif(name: str, frames) -> None:
        paths[name] = images_lib.save_gif(os.path.join(out_dir, name), frames,
                                          duration_ms)

    for t in traversals:
        stem = f"{prefix}_{t.latent.name}"
        png(stem + ".png", images_lib.grid(t.images, 1, len(t.images), pad))
        gif(stem + ".gif", t.images)
    png(f"{prefix}_all.png", combined_grid(traversals, pad))
    gif(f"{prefix}_all.gif", combined_frames(traversals, pad))
    return paths


# Reference: docs/original.md#stage-end-images
def original_gif_frames(traversals: Sequence[Traversal]) -> list:
    """The frames of the original's combined GIF (``all_z_step<k>.gif``).

    Every latent side by side without labels or padding, in the original's
    order (its list of ladder 1..L, dims in order, reversed: the top ladder
    first and each ladder's dimensions last to first), and one frame per
    value but the last: the original writes 8 frames of its 9 values.
    """
    order = sorted(traversals, key=lambda t: (t.latent.ladder, t.latent.dim),
                   reverse=True)
    return [images_lib.hstack([t.images[i] for t in order])
            for i in range(len(TRAVERSAL_VALUES) - 1)]
