"""Everything the original's mode 2 writes, and the trainer's stage-end images.

All outputs use alpha = 1 and the model's current stage. Random choices come
from generators seeded by ``seed`` and a fixed number per purpose
(:mod:`provlae_tf.random_streams`), so the same seed gives byte-identical
files.
"""

from __future__ import annotations

import os
from typing import Callable, Optional

import numpy as np

from provlae_tf import random_streams, run_files
from provlae_tf.data.base import ImageSource
from provlae_tf.fileio import save_json
from provlae_tf.viz import (encode_decode, images, mean_losses,
                            reconstructions, resampling, tensorboard,
                            traversals)

SUMMARY_FILE = run_files.SUMMARY


def _base_code(model, source: ImageSource, seed: int, traverse_image: int,
               traverse_from: str) -> tuple[list, list]:
    if not 0 <= traverse_image < source.num_examples:
        raise ValueError(f"traverse_image={traverse_image}: expected an index"
                         f" in 0..{source.num_examples - 1}")
    x = encode_decode.load_images(source, [traverse_image])[0]
    return encode_decode.image_code(model, x,
                                random_streams.generator(seed, random_streams.TRAVERSAL),
                                traverse_from)


def _progress_logger(log: Callable[[str], None]):
    """A progress callback that logs about every 10% of the images."""
    last = [-1]

    def progress(done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if tenth != last[0]:
            last[0] = tenth
            log(f"  evaluated {done}/{total} images")

    return progress


# Reference: docs/original.md#reconstructions
def visualize(model, source: ImageSource, out_dir: str, *, seed: int = 0,
              traverse_from: str = "sample", traverse_image: int = 0,
              max_eval_images: Optional[int] = None,
              reconstruct_from: str = "sample", eval_batch_size: int = 100,
              loss_mean: str = "original",
              log: Callable[[str], None] = print) -> dict:
    """Writes the reconstructions, traversals, resampling grids and losses.

    Files, all under ``out_dir`` (created if missing):

    - ``reconstructions.png``: 10 random images (top row) above their
      reconstructions (a sample from q(z|x) decoded, as the original does,
      or the posterior mean with ``reconstruct_from="mean"``).
    - ``traverse_ladder<l>_z<d>.png`` / ``.gif`` per latent: image
      ``traverse_image``'s code with that latent swept over
      ``linspace(-2.5, 2.5, 9)``.
    - ``traverse_all.png`` / ``.gif``: every latent, top ladder first,
      labelled; ``*`` marks selected latents.
    - ``resample_ladder<l>.png`` per ladder: 8x8 grid with that ladder's z
      drawn from N(0, I), the others at the image's code.
    - ``summary.json``: the returned summary.

    Args:
        model: a :class:`~provlae_tf.model.ladder.ProVLAE` at its stage.
        source: the dataset.
        out_dir: the output folder; nothing is written elsewhere.
        seed: seeds every random choice.
        traverse_from: ``"sample"`` (the original: one draw from q(z|x)) or
            ``"mean"`` for the traversed and resampled image's code.
        traverse_image: dataset index of that image.
        max_eval_images: evaluate the losses on a random subset this large
            (None = the whole dataset).
        reconstruct_from: ``"sample"`` or ``"mean"``.
        eval_batch_size: images per batch in the loss evaluation (the
            original's ``--batch_size``, default 100).
        loss_mean: ``"original"`` (full batches only, divided by every
            image) or ``"exact"``; see
            :func:`~provlae_tf.viz.mean_losses.evaluate_losses`.
        log: receives progress lines.

    Returns:
        ``{"paths": {file name: path}, "summary": dict}``. The summary lists
        the selected latents: those whose posterior variance
        ``exp(log_var)`` for the traversed image is below 0.2.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    log(f"visualising stage {model.stage} into {out_dir}")
    recon = reconstructions.reconstruct(
        model, source, random_streams.generator(seed, random_streams.RECONSTRUCTIONS),
        code_from=reconstruct_from)
    name = "reconstructions.png"
    paths[name] = images.save_png(os.path.join(out_dir, name),
                                  reconstructions.reconstruction_grid(recon))

    base, variances = _base_code(model, source, seed, traverse_image,
                                 traverse_from)
    sweeps = traversals.traverse(model, base, variances)
    paths.update(traversals.write_traversals(sweeps, out_dir))
    log(f"  wrote {len(sweeps)} traversals")
    paths.update(resampling.write_resampling(
        resampling.resample_all(model, base, seed), out_dir))

    log("  evaluating the losses")
    losses = mean_losses.evaluate_losses(
        model, source, eval_batch_size, max_eval_images, seed,
        _progress_logger(log), mean=loss_mean)
    summary = {
        "stage": int(model.stage),
        "seed": int(seed),
        "traverse_image": int(traverse_image),
        "traverse_from": traverse_from,
        "traversal_values": traversals.TRAVERSAL_VALUES.tolist(),
        "selection_threshold": traversals.SELECTION_THRESHOLD,
        "selected_latents": [t.latent.name for t in sweeps if t.selected],
        "posterior_variance": {t.latent.name: t.variance for t in sweeps},
        "reconstruction_indices": recon.indices.tolist(),
        "reconstruct_from": reconstruct_from,
        "losses": losses,
    }
    paths[SUMMARY_FILE] = save_json(
        os.path.join(out_dir, SUMMARY_FILE), summary)
    log(f"  selected latents: {', '.join(summary['selected_latents']) or '-'};"
        f" reconstruction {losses['reconstruction']:.3f},"
        f" KL {' '.join(f'{v:.3f}' for v in losses['kl'])}")
    return {"paths": paths, "summary": summary}


def stage_end_images(model, source: ImageSource, seed: int = 0,
                     traverse_image: int = 0,
                     traverse_from: str = "sample") -> dict[str, np.ndarray]:
    """The images to look at when a stage ends, as float ``(H, W, C)`` arrays.

    Returns:
        ``{"traversal": labelled traversal grid of every latent,
        "resample_ladder<l>": 8x8 resampling grid per ladder}``.
    """
    return _stage_end(model, source, seed, traverse_image, traverse_from)[0]


def _stage_end(model, source: ImageSource, seed: int, traverse_image: int,
               traverse_from: str):
    base, variances = _base_code(model, source, seed, traverse_image,
                                 traverse_from)
    sweeps = traversals.traverse(model, base, variances)
    found = {"traversal": traversals.combined_grid(sweeps)}
    for ladder, grid in resampling.resample_all(model, base, seed).items():
        found[f"resample_ladder{ladder}"] = grid
    return found, sweeps


# Reference: docs/original.md#stage-end-images
def write_stage_end(model, source: ImageSource, out_dir: str, stage: int,
                    seed: int = 0, summary_writer=None, step: int = 0) -> dict:
    """Writes what the original's training writes when a stage ends.

    Files, under ``out_dir`` (created if missing):

    - ``stage<k>_traversal.png`` and ``stage<k>_resample_ladder<l>.png``:
      :func:`stage_end_images`;
    - ``stage<k>/traverse_ladder<l>_z<d>.png`` / ``.gif`` per latent and
      ``stage<k>/traverse_all.png`` / ``.gif``, as ``--mode=2`` writes them
      (the original's per-latent strips and GIFs);
    - ``all_z_step<k>.gif``: the original's combined GIF, in its layout
      (:func:`~provlae_tf.viz.traversals.original_gif_frames`).

    Args:
        model: the model at the stage that just ended (its own stage is
            used for decoding; ``stage`` only names the files).
        source: the dataset.
        out_dir: output folder (created if missing).
        stage: the stage number for the file names.
        seed: seeds the traversed code and the resampling.
        summary_writer: a ``tf.summary`` writer; when given, every image of
            :func:`stage_end_images` is also written to it as
            ``stage_end/<name>`` at ``step``.
        step: the TensorBoard step.

    Returns:
        ``{file name: path}`` (names relative to ``out_dir``).
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    found, sweeps = _stage_end(model, source, seed, 0, "sample")
    for key, image in found.items():
        name = f"stage{stage}_{key}.png"
        paths[name] = images.save_png(os.path.join(out_dir, name), image)
    per_latent = traversals.write_traversals(
        sweeps, os.path.join(out_dir, f"stage{stage}"))
    paths.update({f"stage{stage}/{name}": path
                  for name, path in per_latent.items()})
    name = f"all_z_step{stage}.gif"
    # The original shows each of its 8 frames for a quarter of a second.
    paths[name] = images.save_gif(os.path.join(out_dir, name),
                                  traversals.original_gif_frames(sweeps),
                                  duration_ms=250)
    if summary_writer is not None:
        with summary_writer.as_default():
            for key, image in found.items():
                tensorboard.write_image(run_files.TAG_STAGE_END + key, image,
                                        step)
        summary_writer.flush()
    return paths


__all__ = ["visualize", "stage_end_images", "write_stage_end", "SUMMARY_FILE"]
