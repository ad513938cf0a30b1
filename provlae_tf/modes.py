"""--mode=2 (visualize) and --mode=3 (metrics) on a run directory.

Both load the run's latest checkpoint (or an original TF1 directory, whose
stage comes from ``--train_seq``) and write under ``--checkpoint_dir``.
"""

from __future__ import annotations

import dataclasses
import os

from provlae_tf.config import RunConfig, load_run_config
from provlae_tf.convert import tf1
from provlae_tf.errors import UserError


def load_run(config: RunConfig):
    """The model of ``config.checkpoint_dir`` and the config to evaluate with.

    The saved config decides the dataset and model; the command line still
    chooses ``--data_dir`` and the evaluation options.
    """
    from provlae_tf.api import load_checkpoint
    run_dir = config.checkpoint_dir
    if os.path.isdir(run_dir) and tf1.is_original_directory(run_dir):
        if config.train.train_seq == "all":
            raise UserError(
                f"--train_seq: {run_dir} is an original TF1 checkpoint, which "
                "does not record its stage; give --train_seq=k (the stage "
                "that run trained).")
        model, saved = load_checkpoint(run_dir, stage=int(config.train.train_seq))
    elif load_run_config(run_dir) is None:
        raise UserError(f"--checkpoint_dir={run_dir}: no provlae_tf run or "
                        "original checkpoint there; train first.")
    else:
        model, saved = load_checkpoint(run_dir)
    data = dataclasses.replace(saved.data, data_dir=config.data.data_dir)
    return model, dataclasses.replace(saved, checkpoint_dir=run_dir,
                                      data=data, eval=config.eval)


def visualize(config: RunConfig, log=print) -> dict:
    """Writes the original's mode-2 outputs (and plots) for the run's stage."""
    from provlae_tf import viz
    from provlae_tf.data.registry import load_source
    from provlae_tf.viz import plots
    model, run = load_run(config)
    source = load_source(run.data.dataset, run.data.data_dir,
                         run.data.max_examples, run.train.seed, log)
    if run.eval.traverse_image >= source.num_examples:
        raise UserError(f"--traverse_image={run.eval.traverse_image}: expected "
                        f"an index below the dataset's {source.num_examples}.")
    out_dir = os.path.join(run.checkpoint_dir, "visualize",
                           f"stage{model.stage}")
    result = viz.visualize(
        model, source, out_dir, seed=run.train.seed,
        traverse_from=run.eval.traverse_from,
        traverse_image=run.eval.traverse_image,
        max_eval_images=run.eval.eval_images or None, log=log)
    events = os.path.join(run.checkpoint_dir, "tensorboard")
    if os.path.isdir(events):
        plots.plot_training_curves(plots.read_training_records(events),
                                   os.path.join(out_dir,
                                                "training_curves.png"))
    losses = result["summary"]["losses"]
    kls = " ".join(f"KL{l} {v:.3f}" for l, v in
                   enumerate(losses["kl"], start=1))
    log(f"Stage {model.stage}: mean reconstruction {losses['reconstruction']:.3f}"
        f" {kls} over {losses['num_images']} images; selected latents: "
        f"{', '.join(result['summary']['selected_latents']) or 'none'}.")
    log(f"Wrote {len(result['paths'])} files to {out_dir}")
    return result
