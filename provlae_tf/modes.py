"""--mode=2 (visualize) and --mode=3 (metrics) on a run directory.

Both load a run's latest checkpoint (with ``--train_seq=k``, as the
original, at the network of stage k; ``--stage_weights=snapshot`` for the
weights saved when stage k finished), or an original TF1 directory, whose
stage comes from ``--train_seq`` and whose variables are matched per
``--restore``, and write under ``--checkpoint_dir``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import NamedTuple

import numpy as np

from provlae_tf import random_streams, run_files
from provlae_tf.config import RunConfig, load_run_config
from provlae_tf.datasets import DATASETS
from provlae_tf.convert import tf1
from provlae_tf.errors import UserError
from provlae_tf.progress import ProgressBar, throttled


# Reference: docs/original.md#evaluation-stage
class LoadedRun(NamedTuple):
    """What ``--mode=2/3`` evaluates.

    Attributes:
        model: the model, at the stage to evaluate.
        config: the run's configuration with the command line's evaluation
            options (and ``--data_dir``).
        weights_stage: the stage the weights were trained to (the model's
            own stage, except for the latest weights shown at an earlier or
            later stage).
    """
    model: object
    config: RunConfig
    weights_stage: int

    @property
    def name(self) -> str:
        """``stage<k>``, or ``stage<k>_with_stage<c>_weights``."""
        k = int(self.model.stage)
        return (f"stage{k}" if self.weights_stage == k
                else f"stage{k}_with_stage{self.weights_stage}_weights")


# Reference: docs/original.md#evaluation-stage
def load_run(config: RunConfig, log=print) -> LoadedRun:
    """The model of ``config.checkpoint_dir`` and the config to evaluate with.

    ``--train_seq=k`` builds the network of stage k (its active ladders, at
    alpha 1); its weights are the latest checkpoint's, as in the original
    (``--stage_weights=latest``), or the snapshot taken when stage k finished
    (``--stage_weights=snapshot``). ``all`` evaluates the latest checkpoint
    at its own stage. An original TF1 directory needs ``--train_seq=k`` (it
    does not record its stage) and is read with ``--restore``.

    The saved config decides the dataset and model (for an original
    directory, which has none: ``config.data``, whose dataset
    :func:`provlae_tf.run.resolve` chose by the original's rule on the
    directory's name, else from the checkpoint); the command line still
    chooses ``--data_dir`` and the evaluation options.
    """
    from provlae_tf.api import load_checkpoint
    run_dir = config.checkpoint_dir
    stage = (None if config.train.train_seq == "all"
             else int(config.train.train_seq))
    if os.path.isdir(run_dir) and tf1.is_original_directory(run_dir):
        model, saved = _load_original(config, stage)
        weights_stage = model.stage
    elif load_run_config(run_dir) is None:
        raise UserError(f"--checkpoint_dir={run_dir}: no provlae_tf run or "
                        "original checkpoint there; train first.")
    elif config.eval.stage_weights == "snapshot":
        model, saved = _load_stage(run_dir, stage, load_checkpoint)
        weights_stage = model.stage
    else:
        model, saved = load_checkpoint(run_dir)
        weights_stage = model.stage
        if stage is not None and stage != model.stage:
            if stage > model.num_ladders:
                raise UserError(
                    f"--train_seq={stage}: the model of {run_dir} has "
                    f"{model.num_ladders} ladder(s).")
            model.set_stage(stage)
            log(f"--train_seq={stage}: the network of stage {stage} with the "
                f"latest weights, trained to stage {weights_stage}, as the "
                "original shows them (--stage_weights=snapshot for the "
                f"weights saved when stage {stage} finished).")
    data = dataclasses.replace(saved.data, data_dir=config.data.data_dir)
    return LoadedRun(model, dataclasses.replace(
        saved, checkpoint_dir=run_dir, data=data, eval=config.eval),
        weights_stage)


def _load_original(config: RunConfig, stage):
    """An original directory's model at ``stage``, with ``config``'s data
    (its dataset chosen as :func:`provlae_tf.run.resolve` does)."""
    from provlae_tf.api import load_checkpoint
    run_dir = config.checkpoint_dir
    if stage is None:
        raise UserError(
            f"--train_seq: {run_dir} is an original TF1 checkpoint, which "
            "does not record its stage; give --train_seq=k (the stage "
            "that run trained).")
    if config.eval.stage_weights == "snapshot":
        raise UserError(
            f"--stage_weights=snapshot: {run_dir} is an original TF1 "
            "directory, which keeps no copy per stage (only its latest "
            "checkpoint); leave --stage_weights out.")
    model, saved = load_checkpoint(run_dir, stage=stage,
                                   restore=config.restore)
    spec = DATASETS[config.data.dataset]
    if spec.channels != model.config.channels:
        raise UserError(
            f"--dataset={spec.name}: {spec.channels}-channel images, but "
            f"the original checkpoint in {run_dir} has "
            f"{model.config.channels}.")
    return model, dataclasses.replace(saved, data=config.data)


def _load_stage(run_dir: str, stage, load_checkpoint):
    """Our run's stage-``stage`` snapshot, or its latest checkpoint when that
    is at ``stage`` (a stage still training) or ``stage`` is None."""
    from provlae_tf.train import checkpoints
    if stage is None:
        return load_checkpoint(run_dir)
    if os.path.exists(os.path.join(
            checkpoints.stage_snapshot_dir(run_dir, stage), "ckpt.index")):
        return load_checkpoint(run_dir, stage=stage)
    model, saved = load_checkpoint(run_dir)
    if model.stage == stage:
        return model, saved
    finished = [s for s in range(1, model.num_ladders + 1) if os.path.exists(
        os.path.join(checkpoints.stage_snapshot_dir(run_dir, s),
                     "ckpt.index"))]
    raise UserError(
        f"--train_seq={stage}: {run_dir} has no snapshot of stage {stage} "
        f"and its latest checkpoint is at stage {model.stage}; finished "
        f"stages: {', '.join(map(str, finished)) or 'none'} (or leave "
        "--train_seq out for the latest checkpoint).")


# Reference: docs/original.md#output-layout
def visualize(config: RunConfig, log=print) -> dict:
    """Writes the original's mode-2 outputs (and plots) for the run's stage
    (see :func:`load_run` for which checkpoint is evaluated)."""
    from provlae_tf import viz
    from provlae_tf.data.registry import load_source
    from provlae_tf.viz import information_flow, plots
    loaded = load_run(config, log)
    model, run = loaded.model, loaded.config
    source = load_source(run.data.dataset, run.data.data_dir,
                         run.data.max_examples, run.train.seed, log)
    if run.eval.traverse_image >= source.num_examples:
        raise UserError(f"--traverse_image={run.eval.traverse_image}: expected "
                        f"an index below the dataset's {source.num_examples}.")
    out_dir = run_files.path(run.checkpoint_dir, run_files.VISUALIZE, loaded.name)
    result = viz.visualize(
        model, source, out_dir, seed=run.train.seed,
        traverse_from=run.eval.traverse_from,
        traverse_image=run.eval.traverse_image,
        max_eval_images=run.eval.eval_images or None,
        reconstruct_from=run.eval.reconstruct_from,
        eval_batch_size=run.eval.mean_loss_batch,
        loss_mean=run.eval.mean_losses, log=log)
    paths = result["paths"]
    events = run_files.path(run.checkpoint_dir, run_files.TENSORBOARD)
    if os.path.isdir(events):
        paths["training_curves.png"] = plots.plot_training_curves(
            plots.read_training_records(events),
            os.path.join(out_dir, "training_curves.png"))
    flow = information_flow.plot_information(
        run_files.read_information(run.checkpoint_dir),
        os.path.join(out_dir, information_flow.PLOT_FILE))
    if flow:
        paths[information_flow.PLOT_FILE] = flow
    saved_metrics = run_files.read_metrics(run.checkpoint_dir)
    if saved_metrics and (saved_metrics.get("stage"), saved_metrics.get(
            "weights_stage", saved_metrics.get("stage"))) == (
            model.stage, loaded.weights_stage):
        paths["mi_matrix.png"] = _plot_mi_matrix(
            saved_metrics, model, os.path.join(out_dir, "mi_matrix.png"))
    losses = result["summary"]["losses"]
    kls = " ".join(f"KL{l} {v:.3f}" for l, v in
                   enumerate(losses["kl"], start=1))
    left_out = losses["num_images"] - losses["images_evaluated"]
    how = (f" ({left_out} of the last partial batch of {losses['batch_size']}"
           " left out of the sums, as the original does; --mean_losses=exact "
           "for the exact mean)" if left_out else "")
    log(f"Stage {model.stage}: mean reconstruction {losses['reconstruction']:.3f}"
        f" {kls} over {losses['num_images']} images{how}; selected latents: "
        f"{', '.join(result['summary']['selected_latents']) or 'none'}.")
    log(f"Wrote {len(result['paths'])} files to {out_dir}")
    return result


# Reference: docs/original.md#non-finite-loss
def metrics(config: RunConfig, log=print) -> dict:
    """--mode=3: encodes the dataset, computes every metric, writes
    ``<run>/metrics.json`` (and the MI heatmap) and prints a table.

    dSprites and 3D Shapes get MIG, MIG-sup, the factor metric and the
    histogram MIG (all ladders and per ladder); every dataset gets KL and
    I(x; z_l) per ladder. ``--eval_images=N`` encodes a seeded subset of N
    images and computes every metric from it (on a factor grid too; the
    paper's numbers use all images, the default).
    """
    from provlae_tf.data import registry
    from provlae_tf.evaluation import encoded_truth, encoding, scorecard
    loaded = load_run(config, log)
    model, run = loaded.model, loaded.config
    dataset, data_dir, seed = run.data.dataset, run.data.data_dir, run.train.seed
    eval_images = run.eval.eval_images
    if DATASETS[dataset].factorised:
        # The grid's published size, known before anything is read.
        grid = DATASETS[dataset].grid_images
        if eval_images > grid:
            raise UserError(f"--eval_images={eval_images}: expected 0 (all) "
                            f"or at most the {grid} images of {dataset}.")
        ground_truth = registry.load_ground_truth(dataset, data_dir, log)
        source = ground_truth.source
        encoded_truth.check_subset_size(eval_images, ground_truth)
        indices = random_streams.subset_indices(
            source.num_examples, eval_images, seed,
            random_streams.EVALUATION_SUBSET)
        if len(indices) < source.num_examples:
            log(f"--eval_images={eval_images}: every metric from a seeded "
                f"random subset of {len(indices)} of the "
                f"{source.num_examples} images (the paper's numbers use "
                "all of them: --eval_images=0).")
    else:
        ground_truth = None
        source = registry.load_source(dataset, data_dir, log=log)
        log(f"--dataset={dataset} has no ground-truth factors: computing KL "
            "and I(x; z_l) per ladder only.")
        indices = random_streams.subset_indices(
            source.num_examples, eval_images, seed,
            random_streams.EVALUATION_SUBSET)
    start = time.perf_counter()
    bar = ProgressBar(len(indices),
                      f"encoding {dataset} at stage {model.stage}")
    encoded = encoding.encode_dataset(
        model, source,
        random_streams.generator(seed, random_streams.METRIC_SAMPLES),
        indices=indices, progress=throttled(bar))
    bar.close()
    encode_seconds = time.perf_counter() - start
    bad = ~np.isfinite(encoded.samples).all(axis=1)
    if bad.any():
        raise UserError(
            f"--checkpoint_dir={run.checkpoint_dir}: the encoder gives NaN or "
            f"infinite codes for {int(bad.sum())} of {len(bad)} images (first:"
            f" index {int(encoded.indices[bad][0])}); the checkpoint has "
            "diverged, so no metric is meaningful (earlier stages' snapshots "
            "load with provlae_tf.load_checkpoint(dir, stage=k)).")
    result = scorecard.compute_metrics(
        encoded, z_dim=model.config.latents_per_ladder, num_ladders=model.num_ladders,
        ground_truth=ground_truth, dataset=dataset, options=run.eval,
        seed=seed, log=log)
    result["seconds"]["encoding"] = encode_seconds
    result.update(stage=int(model.stage), weights_stage=loaded.weights_stage,
                  dataset=dataset,
                  checkpoint_dir=run.checkpoint_dir)
    path = run_files.write_metrics(run.checkpoint_dir, result)
    if ground_truth is not None:
        _plot_mi_matrix(result, model, os.path.join(
            run.checkpoint_dir, run_files.IMAGES,
            f"stage{model.stage}_mi_matrix.png"))
    subset_note = (f" (a random subset of the {result['grid_images']})"
                   if result.get("eval_subset") else "")
    log(f"Stage {model.stage}, {dataset}, {result['num_images']} images"
        f"{subset_note}:")
    log(scorecard.format_table(result, model.num_ladders))
    log(f"Wrote {path}")
    return result


def _plot_mi_matrix(result: dict, model, path: str) -> str:
    from provlae_tf.viz import plots
    return plots.plot_mi_matrix(
        np.asarray(result["mi_normed"]), result["mig_factors"],
        model.config.latents_per_ladder, model.num_ladders, path,
        title=f"Normalised MI, stage {result['stage']} "
              f"(MIG {result['all']['mig']:.3f}, "
              f"MIG-sup {result['all']['mig_sup']:.3f})")

