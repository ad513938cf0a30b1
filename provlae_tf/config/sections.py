"""The run configuration: every value declared once, checked wherever built.

Each field is an :func:`~provlae_tf.options.option`: its default, help,
constraint and flag name live in its declaration; the absl flags, their
checks and docs/flags.md are generated from it. Every section checks its
fields when constructed, and :class:`RunConfig` the rules that join them,
so a config built in Python is refused with the same one-line message as
the flag.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Mapping

from provlae_tf import run_files
from provlae_tf.datasets import DATASET_NAMES, DATASETS
from provlae_tf.errors import UserError
from provlae_tf.options import (Check, at_least, between, check_fields,
                                option, positive)

# Architectures and their number of ladders L.
NUM_LADDERS = {"small": 3, "celeba": 4}
ARCHITECTURES = tuple(NUM_LADDERS)
# The models of --model: pro-VLAE and the two non-progressive baselines
# (docs/original.md#baselines).
MODELS = ("provlae", "vlae", "beta_vae")
# Reference: docs/original.md#frozen-batch-norm
# tf.layers.batch_normalization's default epsilon (float32 1.0000000475e-3).
BN_EPSILON = 1e-3
# Most latents per ladder (far beyond any recipe; a model this wide still
# fits in memory).
MAX_Z_DIM = 1024
# More logical CPU devices than this only slows a run down.
MAX_CPU_DEVICES = 64
# The original's --mode numbers and our names for them.
MODE_NAMES = {"1": "train", "2": "visualize", "3": "metrics"}
_RECIPE = " Default: the --dataset's recipe (dSprites: {})."


def parse_clip(values) -> tuple[float, float]:
    """``(low, high)`` of ``--log_var_clip``."""
    try:
        low, high = (float(v) for v in values)
    except (TypeError, ValueError):
        raise UserError(f"--log_var_clip={','.join(map(str, values))}: "
                        "expected two numbers low,high with low < high, e.g. "
                        "-100,3.") from None
    return (low, high)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Everything that fixes the network's variables and forward pass."""

    architecture: str = option(
        "small", "Network: small (L = 3 ladders) or celeba (L = 4); auto = "
        "the --dataset's (celeba for CelebA, else small).",
        choices=ARCHITECTURES, flag_choices=("auto", *ARCHITECTURES),
        flag_default="auto")
    z_dim: int = option(
        2, "Latent dimensions per ladder (of the ladder network the "
        "beta-VAE baseline is compared with, for --model=beta_vae)."
        + _RECIPE.format(2), recipe=True, original=True,
        check=(positive(), Check(lambda v: v <= MAX_Z_DIM,
                                 f"at most {MAX_Z_DIM} latents per ladder")))
    channels: int = option(1, "Image channels: the --dataset's images.",
                           flag=None, choices=(1, 3))
    fix_encoder_fade: bool = option(
        False, "CelebA model: fade the encoder input of the ladder that "
        "switches on, instead of the original's off-by-one (a fix; off = "
        "faithful).")
    bn_epsilon: float = option(BN_EPSILON, "Epsilon of the "
                               "frozen-statistics 'BN' layers.",
                               check=positive("number"))
    log_var_clip: tuple = option(
        (-100.0, 3.0), "CelebA model: clip of the log-variances after "
        "sampling (low,high).", parse=parse_clip,
        check=Check(lambda v: len(v) == 2 and v[0] < v[1], "two numbers "
                    "low,high with low < high, e.g. -100,3"))
    kind: str = option(
        "provlae", "provlae (progressive), or a non-progressive baseline "
        "trained for L x --epoch_size epochs in one stage, without fade-in "
        "or pre-KL: vlae (every ladder from the first step) or beta_vae (one "
        "ladder of L x --z_dim latents on the top ladder's path).",
        flag="model", choices=MODELS)

    def __post_init__(self):
        check_fields(self, "model")

    @property
    def architecture_ladders(self) -> int:
        """L of the architecture (the ladder network's number of ladders)."""
        return NUM_LADDERS[self.architecture]

    @property
    def num_ladders(self) -> int:
        """Ladders of this model: L, or 1 for the beta-VAE baseline."""
        return 1 if self.kind == "beta_vae" else self.architecture_ladders

    @property
    def latents_per_ladder(self) -> int:
        """Latent dimensions of each of this model's ladders."""
        return self.z_dim * self.architecture_ladders // self.num_ladders


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Which images to train on."""

    dataset: str = option(
        "dsprites", "Dataset, and the recipe of the recipe flags left unset. "
        "Without it, the original's rule on --checkpoint_dir ('Celeb': "
        "celeba, '3dshape': 3dshapes), else dsprites.",
        choices=DATASET_NAMES)
    data_dir: str = option("data", "Where dataset files live.")
    max_examples: int = option(
        0, "Train on a fixed seeded subset of this many images (0 = the "
        "whole dataset).", check=at_least(0, "0 (all) or a positive integer"))

    def __post_init__(self):
        check_fields(self, "data")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The progressive training recipe and how the step runs."""

    epochs_per_stage: int = option(
        30, "Epochs per progressive stage." + _RECIPE.format(30),
        flag="epoch_size", recipe=True, original=True, check=positive())
    batch_size: int = option(
        128, "Training batch size (the last partial batch of an epoch is "
        "dropped, as the original does)." + _RECIPE.format(128), recipe=True,
        original=True, check=positive())
    beta: float = option(1.0, "KL weight of the active ladders."
                         + _RECIPE.format(1), recipe=True, original=True,
                         check=at_least(0, "a KL weight >= 0"))
    coff: float = option(0.5, "KL weight of the inactive ladders when --KL "
                         "is on." + _RECIPE.format(0.5), recipe=True,
                         original=True, check=at_least(0, "a KL weight >= 0"))
    pre_kl: bool = option(True, "Pre-KL: weight inactive ladders' KL by "
                          "--coff." + _RECIPE.format("true"), flag="KL",
                          recipe=True, original=True)
    fade_in: bool = option(True, "Fade new ladders in over "
                           "--fade_in_duration iterations."
                           + _RECIPE.format("true"), flag="fadein",
                           recipe=True, original=True)
    fade_in_duration: int = option(
        5000, "Iterations of the fade-in (alpha = iter / this, iter counted "
        "within the stage).", check=at_least(0, "an integer >= 0"))
    learning_rate: float = option(5e-4, "Adam learning rate.", original=True,
                                  check=positive("number"))
    adam_beta1: float = option(0.9, "Adam beta1.", check=between(
        0, 1, "a decay rate in [0, 1)", high_open=True))
    adam_beta2: float = option(0.999, "Adam beta2.", check=between(
        0, 1, "a decay rate in [0, 1)", high_open=True))
    adam_epsilon: float = option(1e-8, "Adam epsilon (TF1 'epsilon hat').",
                                 check=positive("number"))
    seed: int = option(0, "Seed of initialisation, data order and sampling "
                       "noise.", check=between(0, 2 ** 32, "an integer in "
                                               "[0, 2**32)", high_open=True))
    train_seq: str = option(
        "all", "Progressive stage to train: 1..L trains that stage only "
        "(continuing from stage k-1 in --checkpoint_dir, as the original "
        "scripts do, or from a fresh initialisation in an empty one); 'all' "
        "trains every remaining stage. --mode=2/3: the stage whose network "
        "is evaluated.", original=True)
    xla: bool = option(False, "Compile the training step with XLA (slower "
                       "on CPU: see benchmarks/train_throughput.py).")
    # Reference: docs/original.md#zero-branch-skipping
    exact_zero_branches: bool = option(
        False, "Compute inactive ladders' decoder z-branches and multiply "
        "them by 0, as the original does, instead of skipping that work "
        "(for bit-level comparisons).")
    log_every: int = option(20, "Steps between progress-bar and "
                            "TensorBoard updates.", check=positive())
    max_to_keep: int = option(1, "Rolling checkpoints kept (the original "
                              "keeps 1); a copy per stage is kept apart.",
                              check=positive())
    # Where the step runs (provlae_tf.train.distribute). Not part of the
    # run's identity: checkpoints are the same under every strategy, so a
    # run may be resumed on other devices.
    strategy: str = option(
        "default", "default (one device), mirrored (all local GPUs, or "
        "--devices) or multi_worker (cluster from TF_CONFIG). --batch_size "
        "stays the global batch; a run may be resumed under another "
        "strategy.", choices=("default", "mirrored", "multi_worker"))
    devices: str = option(
        "", "--strategy=mirrored: comma-separated devices, e.g. "
        "/gpu:0,/gpu:1 (default: all GPUs; with --cpu_devices, the logical "
        "CPUs).")
    cpu_devices: int = option(
        0, "Split the CPU into this many logical devices (0 = off), so that "
        "--strategy=mirrored runs on a machine without GPUs.",
        check=between(0, MAX_CPU_DEVICES, "0 (off) or a number of logical "
                      f"CPU devices, at most {MAX_CPU_DEVICES}"))
    mixed_precision: str = option(
        "off", "Keras mixed-precision policy: off (float32, the faithful "
        "numbers), mixed_float16 (GPU only; dynamic loss scaling) or "
        "mixed_bfloat16. Variables and losses stay float32.",
        choices=("off", "mixed_float16", "mixed_bfloat16"))

    def __post_init__(self):
        check_fields(self, "train")

    # Reference: docs/original.md#stages-per-command
    def stages(self, num_ladders: int) -> list[int]:
        """The stages this invocation asks for."""
        if self.train_seq == "all":
            return list(range(1, num_ladders + 1))
        return [int(self.train_seq)]


_SIZE = positive()


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Options of --mode=2 (visualize) and --mode=3 (metrics), and of the
    information flow recorded at every stage end.

    The sizes of the ``--mode=3`` estimates default to the original's (MIG)
    and disentanglement_lib's (factor metric, histogram MIG).
    """

    traverse_from: str = option(
        "sample", "--mode=2: traversals start from the image's sampled code "
        "(the original) or its posterior mean.", choices=("sample", "mean"))
    traverse_image: int = option(0, "--mode=2: dataset index of the image "
                                 "whose code is traversed.",
                                 check=at_least(0, "a dataset index >= 0"))
    eval_images: int = option(
        0, "A seeded random subset of this many images (0 = the whole "
        "dataset): --mode=2's dataset-mean losses, and every --mode=3 metric "
        "(faster, noisier estimates; the paper's numbers use all images).",
        check=at_least(0, "0 (all) or a positive integer"))
    # Reference: docs/original.md#reconstructions
    reconstruct_from: str = option(
        "sample", "--mode=2: reconstructions decode a sample from q(z|x) "
        "(the original) or the posterior mean.", choices=("sample", "mean"))
    # Reference: docs/original.md#mean-losses
    mean_losses: str = option(
        "original", "--mode=2: the dataset-mean losses as the original "
        "computes them (full batches of --batch_size, default 100 as the "
        "original's, the last partial batch left out of the sum but counted "
        "in the divisor) or the exact mean over every image.",
        choices=("original", "exact"))
    mean_loss_batch: int = option(
        100, "--mode=2: batch of the dataset-mean losses: --batch_size when "
        "given with --mode=2, else the original's default (100).", flag=None,
        check=_SIZE)
    # Reference: docs/original.md#evaluation-stage
    stage_weights: str = option(
        "latest", "--mode=2/3 with --train_seq=k: the latest checkpoint's "
        "weights with the network of stage k (the original), or the "
        "snapshot taken when stage k finished.",
        choices=("latest", "snapshot"))
    mig_samples: int = option(10000, "--mode=3: subsample S of every "
                              "entropy estimate of MIG (the original's "
                              "10000).", check=_SIZE)
    include_shape: bool = option(False, "--mode=3: MIG also scores "
                                 "dSprites' shape factor (the original "
                                 "leaves it out).")
    factor_train_votes: int = option(10000, "--mode=3: votes that train the "
                                     "factor metric's classifier.",
                                     check=_SIZE)
    factor_eval_votes: int = option(5000, "--mode=3: votes that score the "
                                    "factor metric's classifier.",
                                    check=_SIZE)
    factor_batch: int = option(64, "--mode=3: images per vote of the "
                               "factor metric.", check=_SIZE)
    factor_variance_samples: int = option(
        10000, "--mode=3: images of the factor metric's global variances.",
        check=_SIZE)
    factor_prune_std: float = option(
        0.05, "--mode=3: the factor metric ignores latents whose global "
        "standard deviation is below this.",
        check=at_least(0, "a standard deviation >= 0"))
    histogram_samples: int = option(10000, "--mode=3: images of the "
                                    "histogram MIG.", check=_SIZE)
    histogram_bins: int = option(20, "--mode=3: bins per latent of the "
                                 "histogram MIG.", check=_SIZE)
    info_samples: int = option(1000, "Query points of each I(x; z_l) "
                               "estimate.", check=_SIZE)
    info_images: int = option(
        10000, "Training: images encoded at the end of every stage for the "
        "information-flow plot (KL and I(x; z_l) per ladder; 0 = off).",
        check=at_least(0, "0 (off) or a positive number of images"))

    def __post_init__(self):
        check_fields(self, "eval")


# Reference: docs/original.md#defaults
@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything one invocation needs: what to run, where, on what."""

    checkpoint_dir: str = option(
        "", "Run directory: checkpoints, config.json, logs, images. Default "
        "runs/<dataset>. Rerunning a command on it resumes the run.",
        original=True, flag_default=None,
        check=Check(bool, "a run directory"))
    mode: str = option(
        "train", "1/train, 2/visualize or 3/metrics.", original=True,
        choices=tuple(MODE_NAMES.values()),
        flag_choices=(*MODE_NAMES, *MODE_NAMES.values()),
        parse=lambda v: MODE_NAMES.get(v, v))
    log_file: str = option(run_files.DEFAULT_LOG, "Text log, relative to "
                           "--checkpoint_dir.", original=True)
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    # An original TF1 run directory to start from (when ours has no
    # checkpoint yet), and how strictly to map its variables.
    init_from: str = option(
        "", "A run directory of the original TF1 code to start from (with a "
        "new --checkpoint_dir). Passing the original directory itself as "
        "--checkpoint_dir does the same in place.", flag_default=None,
        parse=lambda v: v or "")
    restore: str = option(
        "strict", "Loading an original checkpoint: strict (every variable "
        "mapped and of the right shape) or optimistic (the original's "
        "fallback: load what matches by name and shape, report the rest).",
        choices=("strict", "optimistic"))
    eval: EvalConfig = EvalConfig()
    gpu_usage: float = option(
        1.0, "Accepted for compatibility with the original scripts; below "
        "1, GPU memory is allocated on demand instead.", original=True,
        check=Check(lambda v: 0 < v <= 1, "a fraction in (0, 1]"))

    def __post_init__(self):
        check_fields(self)
        _check_run(self)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RunConfig":
        """The inverse of :meth:`to_json`; missing fields take defaults (so
        config.json files of earlier versions still load)."""
        sections = {name: section_type(**d.get(name, {}))
                    for name, section_type in SECTIONS.items()}
        model = sections["model"]
        sections["model"] = dataclasses.replace(
            model, log_var_clip=tuple(model.log_var_clip))
        top = {f.name: d[f.name] for f in dataclasses.fields(cls)
               if f.name not in SECTIONS and f.name in d}
        return cls(**top, **sections)

    def identity(self) -> dict[str, Any]:
        """What must not change when a run is continued: the variables' shapes
        and the data the order was drawn over."""
        model = dataclasses.asdict(self.model)
        model["model"] = model.pop("kind")  # named as its flag, --model
        return {**model,
                "dataset": self.data.dataset,
                "max_examples": self.data.max_examples}


SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig,
            "eval": EvalConfig}


def _check_run(config: RunConfig) -> None:
    """The rules that join sections; one line naming the flag."""
    spec = DATASETS[config.data.dataset]
    if config.model.channels != spec.channels:
        raise UserError(f"--dataset={spec.name}: {spec.channels}-channel "
                        f"images, but the model has {config.model.channels} "
                        "channel(s).")
    check_train_seq(config.train.train_seq, config.model.num_ladders)
    total = spec.grid_images
    if total is not None and config.data.max_examples > total:
        raise UserError(f"--max_examples={config.data.max_examples}: "
                        f"expected at most the {total} images of "
                        f"{spec.name}.")
    available = config.data.max_examples or total
    if available and config.train.batch_size > available:
        raise UserError(f"--batch_size={config.train.batch_size}: expected at"
                        f" most the {available} training images "
                        "(--max_examples, else the dataset).")
    _check_log_file(config.log_file)


def check_train_seq(value: str, num_ladders: int) -> str:
    """``"all"`` or the stage ``"1"``..``"L"`` of ``--train_seq``."""
    if value == "all" or (value.isdigit() and str(int(value)) == value
                          and 1 <= int(value) <= num_ladders):
        return value
    raise UserError(f"--train_seq={value}: expected 'all' or a stage 1.."
                    f"{num_ladders} (this model has {num_ladders} ladders).")


# Reference: docs/original.md#output-layout
def _check_log_file(log_file: str) -> None:
    if (not log_file or log_file.endswith(os.sep) or os.path.isabs(log_file)
            or os.pardir in log_file.split(os.sep)):
        raise UserError(f"--log_file={log_file}: expected a file name inside "
                        "--checkpoint_dir (everything a run writes stays "
                        "there).")
    if log_file.split(os.sep)[0] in run_files.ENTRIES:
        raise UserError(f"--log_file={log_file}: the run directory keeps its "
                        f"{log_file.split(os.sep)[0]} there; expected another"
                        " name, e.g. train.log.")


def load_run_config(checkpoint_dir: str):
    """Reads ``config.json`` of a run directory, or None when there is none."""
    path = run_files.path(checkpoint_dir, run_files.CONFIG)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return RunConfig.from_dict(json.load(f))
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"{path}: not a provlae_tf config ({e}). Use another "
                        "--checkpoint_dir.") from None
