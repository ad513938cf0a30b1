"""Command-line flags: the original's names, plus explicit ones for what it hard-codes.

:func:`define_flags` registers the flags on a given ``FlagValues`` so tests
can parse flagfiles into a fresh instance, and other command lines (the
checkpoint converter) can share some of them. Only the entry points read
the global ``FLAGS``; everything else receives a frozen config
(:mod:`provlae_tf.config`, whose ``FLAG_FIELDS`` maps each flag to its field).

The recipe flags (``z_dim beta KL coff fadein epoch_size batch_size``) default
to the ``--dataset``'s recipe (:mod:`provlae_tf.recipes`); the defaults shown
in ``--help`` are dSprites', the default dataset.
"""

from __future__ import annotations

import sys
from typing import Callable, Collection, Optional

from absl import flags

from provlae_tf.constants import (ARCHITECTURES, DATASETS, MODELS, MODES,
                                  PRECISIONS, RESTORE_MODES, STRATEGIES)

_RECIPE = " Default: the --dataset's recipe (dSprites: {})."


def one_line_parser(flag_values: flags.FlagValues,
                    prefix: str) -> Callable[[list], list]:
    """An ``app.run(..., flags_parser=)`` that reports a bad flag as one
    line ``<prefix>: <what absl says>`` and exits with status 1, like every
    other bad input, instead of absl's usage dump."""
    def parse(argv: list) -> list:
        try:
            return flag_values(argv)
        except flags.Error as e:
            print(f"{prefix}: {e}. See --helpfull for the flags.",
                  file=sys.stderr)
            sys.exit(1)
    return parse


def default_values() -> dict:
    """``{flag name: default value}`` of every provlae_tf flag, as absl
    parses them (for command lines that define only some of the flags)."""
    every = flags.FlagValues()
    _define_all(every)
    every(["provlae_tf"])
    return {name: every[name].value for name in every}


# Reference: docs/original.md#dataset-choice
def define_flags(flag_values: flags.FlagValues = flags.FLAGS,
                 names: Optional[Collection[str]] = None) -> None:
    """Registers the provlae_tf flags on ``flag_values``.

    Args:
        flag_values: where to register them.
        names: only these flags (default: every flag).
    """
    every = flags.FlagValues()
    _define_all(every)
    for name in (every if names is None else names):
        flag_values[name] = every[name]


def _define_all(fv: flags.FlagValues) -> None:
    # --- The original's flags (same names, so its command lines still work).
    flags.DEFINE_integer("epoch_size", 30, "Epochs per progressive stage."
                         + _RECIPE.format(30), flag_values=fv)
    flags.DEFINE_integer("batch_size", 128, "Training batch size."
                         + _RECIPE.format(128), flag_values=fv)
    flags.DEFINE_float("beta", 1.0, "KL weight of the active ladders."
                       + _RECIPE.format(1), flag_values=fv)
    flags.DEFINE_float("learning_rate", 5e-4, "Adam learning rate.",
                       flag_values=fv)
    flags.DEFINE_string(
        "checkpoint_dir", None,
        "Run directory: checkpoints, config.json, logs, images. Default "
        "runs/<dataset>. Rerunning a command on it resumes the run.",
        flag_values=fv)
    flags.DEFINE_string("log_file", "train.log",
                        "Text log, relative to --checkpoint_dir.",
                        flag_values=fv)
    flags.DEFINE_string(
        "train_seq", "all",
        "Progressive stage to train: 1..L trains that stage only (continuing "
        "from stage k-1 in --checkpoint_dir, as the original scripts do, or "
        "from a fresh initialisation in an empty one); 'all' trains every "
        "remaining stage.", flag_values=fv)
    flags.DEFINE_boolean("KL", True,
                         "Pre-KL: weight inactive ladders' KL by --coff."
                         + _RECIPE.format("true"), flag_values=fv)
    flags.DEFINE_boolean("fadein", True, "Fade new ladders in over "
                         "--fade_in_duration iterations."
                         + _RECIPE.format("true"), flag_values=fv)
    flags.DEFINE_float("coff", 0.5, "KL weight of the inactive ladders "
                       "when --KL is on." + _RECIPE.format(0.5),
                       flag_values=fv)
    flags.DEFINE_float(
        "gpu_usage", 1.0, "Accepted for compatibility with the original "
        "scripts; below 1, GPU memory is allocated on demand instead.",
        flag_values=fv)
    flags.DEFINE_integer("z_dim", 2, "Latent dimensions per ladder."
                         + _RECIPE.format(2), flag_values=fv)
    flags.DEFINE_enum("mode", "train", MODES,
                      "1/train, 2/visualize or 3/metrics.", flag_values=fv)
    # --- Explicit replacements for what the original derives or hard-codes.
    flags.DEFINE_enum("dataset", "dsprites", DATASETS,
                      "Dataset, and the recipe of the recipe flags left unset "
                      "(the original guessed it from checkpoint_dir).",
                      flag_values=fv)
    flags.DEFINE_string("data_dir", "data", "Where dataset files live.",
                        flag_values=fv)
    flags.DEFINE_integer("max_examples", 0,
                         "Train on a fixed seeded subset of this many images "
                         "(0 = the whole dataset).", flag_values=fv)
    flags.DEFINE_integer("seed", 0, "Seed of initialisation, data order and "
                         "sampling noise.", flag_values=fv)
    flags.DEFINE_integer("fade_in_duration", 5000,
                         "Iterations of the fade-in (alpha = iter / this).",
                         flag_values=fv)
    flags.DEFINE_enum(
        "model", "provlae", MODELS,
        "provlae (progressive), or a non-progressive baseline trained for "
        "L x --epoch_size epochs in one stage, without fade-in or pre-KL: "
        "vlae (every ladder from the first step) or beta_vae (one ladder of "
        "L x --z_dim latents on the top ladder's path).", flag_values=fv)
    flags.DEFINE_enum("architecture", "auto", ("auto", *ARCHITECTURES),
                      "Network; auto = celeba for CelebA, else small.",
                      flag_values=fv)
    flags.DEFINE_float("adam_beta1", 0.9, "Adam beta1.", flag_values=fv)
    flags.DEFINE_float("adam_beta2", 0.999, "Adam beta2.", flag_values=fv)
    flags.DEFINE_float("adam_epsilon", 1e-8, "Adam epsilon (TF1 'epsilon "
                       "hat').", flag_values=fv)
    flags.DEFINE_float("bn_epsilon", 1e-3, "Epsilon of the frozen-statistics "
                       "'BN' layers.", flag_values=fv)
    flags.DEFINE_list("log_var_clip", ["-100", "3"],
                      "CelebA model: clip of the log-variances after sampling "
                      "(low,high).", flag_values=fv)
    flags.DEFINE_boolean(
        "fix_encoder_fade", False,
        "CelebA model: fade the encoder input of the ladder that switches on, "
        "instead of the original's off-by-one (a fix; off = faithful).",
        flag_values=fv)
    flags.DEFINE_string(
        "init_from", None,
        "A run directory of the original TF1 code to start from (with a new "
        "--checkpoint_dir). Passing the original directory itself as "
        "--checkpoint_dir does the same in place.", flag_values=fv)
    flags.DEFINE_enum(
        "restore", "strict", RESTORE_MODES,
        "Loading an original checkpoint: strict (every variable mapped and of "
        "the right shape) or optimistic (the original's fallback: load what "
        "matches by name and shape, report the rest).", flag_values=fv)
    # --- Evaluation (--mode=2 visualize, --mode=3 metrics).
    flags.DEFINE_enum("traverse_from", "sample", ("sample", "mean"),
                      "Traversals start from the image's sampled code (the "
                      "original) or its posterior mean.", flag_values=fv)
    flags.DEFINE_integer("traverse_image", 0, "Dataset index of the image "
                         "whose code is traversed.", flag_values=fv)
    flags.DEFINE_enum("reconstruct_from", "sample", ("sample", "mean"),
                      "--mode=2: reconstructions decode a sample from q(z|x) "
                      "(the original) or the posterior mean.", flag_values=fv)
    flags.DEFINE_enum(
        "mean_losses", "original", ("original", "exact"),
        "--mode=2: the dataset-mean losses as the original computes them "
        "(full batches of --batch_size, default 100 as the original's, the "
        "last partial batch left out of the sum but counted in the divisor) "
        "or the exact mean over every image.", flag_values=fv)
    flags.DEFINE_enum(
        "stage_weights", "latest", ("latest", "snapshot"),
        "--mode=2/3 with --train_seq=k: the latest checkpoint's weights with "
        "the network of stage k (the original), or the snapshot taken when "
        "stage k finished.", flag_values=fv)
    flags.DEFINE_integer("eval_images", 0, "A seeded random subset of this "
                         "many images (0 = the whole dataset): --mode=2's "
                         "dataset-mean losses, and every --mode=3 metric (on "
                         "dSprites and 3D Shapes too: faster, noisier "
                         "estimates; the paper's numbers use all images, "
                         "the default).", flag_values=fv)
    flags.DEFINE_integer("mig_samples", 10000, "--mode=3: subsample S of "
                         "every entropy estimate of MIG (the original's "
                         "10000).", flag_values=fv)
    flags.DEFINE_boolean("include_shape", False, "--mode=3: MIG also scores "
                         "dSprites' shape factor (the original leaves it "
                         "out).", flag_values=fv)
    flags.DEFINE_integer("factor_train_votes", 10000, "--mode=3: votes that "
                         "train the factor metric's classifier.",
                         flag_values=fv)
    flags.DEFINE_integer("factor_eval_votes", 5000, "--mode=3: votes that "
                         "score the factor metric's classifier.",
                         flag_values=fv)
    flags.DEFINE_integer("factor_batch", 64, "--mode=3: images per vote of "
                         "the factor metric.", flag_values=fv)
    flags.DEFINE_integer("factor_variance_samples", 10000, "--mode=3: "
                         "images of the factor metric's global variances.",
                         flag_values=fv)
    flags.DEFINE_float("factor_prune_std", 0.05, "--mode=3: the factor "
                       "metric ignores latents whose global standard "
                       "deviation is below this.", flag_values=fv)
    flags.DEFINE_integer("histogram_samples", 10000, "--mode=3: images of "
                         "the histogram MIG.", flag_values=fv)
    flags.DEFINE_integer("histogram_bins", 20, "--mode=3: bins per latent "
                         "of the histogram MIG.", flag_values=fv)
    flags.DEFINE_integer("info_samples", 1000, "Query points of each "
                         "I(x; z_l) estimate.", flag_values=fv)
    flags.DEFINE_integer("info_images", 10000, "Training: images encoded at "
                         "the end of every stage for the information-flow "
                         "plot (KL and I(x; z_l) per ladder; 0 = off).",
                         flag_values=fv)
    flags.DEFINE_boolean("xla", False, "Compile the training step with XLA "
                         "(slower on CPU: see benchmarks/train_throughput.py).",
                         flag_values=fv)
    flags.DEFINE_boolean("exact_zero_branches", False, "Compute inactive "
                         "ladders' decoder z-branches and multiply them by 0, "
                         "as the original does, instead of skipping that "
                         "work (for bit-level comparisons).", flag_values=fv)
    flags.DEFINE_integer("log_every", 20, "Steps between progress-bar and "
                         "TensorBoard updates.", flag_values=fv)
    flags.DEFINE_integer("max_to_keep", 1, "Rolling checkpoints kept (the "
                         "original keeps 1); a copy per stage is kept apart.",
                         flag_values=fv)
    # --- Devices (provlae_tf.train.distribute); none changes the numbers
    # beyond float rounding except --mixed_precision.
    flags.DEFINE_enum(
        "strategy", "default", STRATEGIES,
        "default (one device), mirrored (tf.distribute.MirroredStrategy: all "
        "local GPUs, or --devices) or multi_worker (MultiWorkerMirroredStrategy,"
        " cluster from TF_CONFIG). --batch_size stays the global batch; "
        "a run may be resumed under another strategy.", flag_values=fv)
    flags.DEFINE_string(
        "devices", "", "--strategy=mirrored: comma-separated devices, e.g. "
        "/gpu:0,/gpu:1 (default: all GPUs; with --cpu_devices, the logical "
        "CPUs).", flag_values=fv)
    flags.DEFINE_integer(
        "cpu_devices", 0, "Split the CPU into this many logical devices "
        "(0 = off), so that --strategy=mirrored runs on a machine without "
        "GPUs (tests, CPU users).", flag_values=fv)
    flags.DEFINE_enum(
        "mixed_precision", "off", PRECISIONS,
        "Keras mixed-precision policy: off (float32, the faithful numbers), "
        "mixed_float16 (GPU only; dynamic loss scaling) or mixed_bfloat16. "
        "Variables and losses stay float32.", flag_values=fv)
