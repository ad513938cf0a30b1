"""Frozen run configuration, built once from the flags and saved as config.json.

:data:`FLAG_FIELDS` is the one table between the command line and the
config: every flag names the field it sets, and the config is built from it
by keyword. A test checks that every flag has a field and every field a flag
(or is derived, :data:`DERIVED_FIELDS`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Collection, Mapping, Optional

from provlae_tf.constants import (BN_EPSILON, CHANNELS, DEFAULT_ARCHITECTURE,
                                  MODE_NAMES, NUM_LADDERS)
from provlae_tf.baselines import apply_model_kind
from provlae_tf.errors import UserError
from provlae_tf.flag_checks import parse_clip, validate
from provlae_tf.recipes import (ORIGINAL_FLAG_DEFAULTS, RECIPES,
                                dataset_named_by)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Everything that fixes the network's variables and forward pass.

    Attributes:
        architecture: ``"small"`` (L = 3) or ``"celeba"`` (L = 4).
        z_dim: latent dimensions per ladder (of the ladder network the
            baseline is compared with, for ``kind="beta_vae"``).
        channels: image channels (1 or 3).
        fix_encoder_fade: fade the ladder that switches on in the CelebA
            encoder instead of reproducing the original's off-by-one.
        bn_epsilon: epsilon of the frozen-statistics "BN".
        log_var_clip: (low, high) clip of the log-variances after sampling,
            used by the architectures that clip (CelebA).
        kind: ``"provlae"`` or ``"vlae"`` (the ladder network) or
            ``"beta_vae"`` (one ladder of ``L * z_dim`` latents on the
            top ladder's encoder and decoder path).
    """

    architecture: str = "small"
    z_dim: int = 2
    channels: int = 1
    fix_encoder_fade: bool = False
    bn_epsilon: float = BN_EPSILON
    log_var_clip: tuple = (-100.0, 3.0)
    kind: str = "provlae"

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

    dataset: str = "dsprites"
    data_dir: str = "data"
    max_examples: int = 0  # 0 = all


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The progressive training recipe (see :mod:`provlae_tf.recipes`)."""

    epochs_per_stage: int = 30
    batch_size: int = 128
    beta: float = 1.0
    coff: float = 0.5
    pre_kl: bool = True
    fade_in: bool = True
    fade_in_duration: int = 5000
    learning_rate: float = 5e-4
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    seed: int = 0
    train_seq: str = "all"  # "all" or "1".."L"
    xla: bool = False
    # Reference: docs/original.md#zero-branch-skipping
    exact_zero_branches: bool = False
    log_every: int = 20
    max_to_keep: int = 1
    # Where the step runs (provlae_tf.train.distribute). Not part of the
    # run's identity: checkpoints are the same under every strategy, so a
    # run may be resumed on other devices.
    strategy: str = "default"
    devices: str = ""  # comma-separated device names; "" = all GPUs
    cpu_devices: int = 0  # logical CPU devices to split the CPU into
    mixed_precision: str = "off"

    # Reference: docs/original.md#stages-per-command
    def stages(self, num_ladders: int) -> list[int]:
        """The stages this invocation asks for."""
        if self.train_seq == "all":
            return list(range(1, num_ladders + 1))
        return [int(self.train_seq)]


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Options of --mode=2 (visualize) and --mode=3 (metrics).

    The ``--mode=3`` fields are the sizes of the estimates; their defaults
    are the original's (MIG) and disentanglement_lib's (factor metric,
    histogram MIG).
    """

    traverse_from: str = "sample"
    traverse_image: int = 0
    eval_images: int = 0  # 0 = all
    # --mode=2: what the reconstructions decode, and how the dataset-mean
    # losses are averaged (docs/original.md#mean-losses) in batches of
    # mean_loss_batch (derived: --batch_size if given, else the original's
    # default 100).
    reconstruct_from: str = "sample"
    mean_losses: str = "original"
    mean_loss_batch: int = 100
    # --mode=2/3 with --train_seq=k: the latest weights with the network of
    # stage k (the original), or the snapshot taken when stage k finished.
    stage_weights: str = "latest"
    # --mode=3: MIG / MIG-sup.
    mig_samples: int = 10000
    include_shape: bool = False
    # --mode=3: the factor metric (Kim & Mnih).
    factor_train_votes: int = 10000
    factor_eval_votes: int = 5000
    factor_batch: int = 64
    factor_variance_samples: int = 10000
    factor_prune_std: float = 0.05
    # --mode=3: disentanglement_lib's histogram MIG.
    histogram_samples: int = 10000
    histogram_bins: int = 20
    # Query points of each I(x; z_l) estimate.
    info_samples: int = 1000
    # Images of the I(x; z_l) estimate written at the end of every stage.
    info_images: int = 10000


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything one invocation needs; the only thing built from FLAGS."""

    checkpoint_dir: str
    mode: str = "train"
    log_file: str = "train.log"
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    # An original TF1 run directory to start from (when ours has no
    # checkpoint yet), and how strictly to map its variables.
    init_from: str = ""
    restore: str = "strict"
    eval: EvalConfig = EvalConfig()
    gpu_usage: float = 1.0

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RunConfig":
        """The inverse of :meth:`to_json`; missing fields take defaults (so
        config.json files of earlier versions still load)."""
        sections = {name: section_type(**d.get(name, {}))
                    for name, section_type in _SECTIONS.items()}
        model = sections["model"]
        sections["model"] = dataclasses.replace(
            model, log_var_clip=tuple(model.log_var_clip))
        top = {f.name: d[f.name] for f in dataclasses.fields(cls)
               if f.name not in _SECTIONS and f.name in d}
        return cls(**top, **sections)

    def identity(self) -> dict[str, Any]:
        """What must not change when a run is continued: the variables' shapes
        and the data the order was drawn over."""
        model = dataclasses.asdict(self.model)
        model["model"] = model.pop("kind")  # named as its flag, --model
        return {**model,
                "dataset": self.data.dataset,
                "max_examples": self.data.max_examples}


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig,
             "eval": EvalConfig}

# Every flag and the config field it sets ("section.field", or a field of
# RunConfig itself). The original's flag names stay (KL, fadein, epoch_size).
FLAG_FIELDS = {
    "checkpoint_dir": "checkpoint_dir",
    "mode": "mode",
    "log_file": "log_file",
    "init_from": "init_from",
    "restore": "restore",
    "gpu_usage": "gpu_usage",
    "dataset": "data.dataset",
    "data_dir": "data.data_dir",
    "max_examples": "data.max_examples",
    "model": "model.kind",
    "architecture": "model.architecture",
    "z_dim": "model.z_dim",
    "fix_encoder_fade": "model.fix_encoder_fade",
    "bn_epsilon": "model.bn_epsilon",
    "log_var_clip": "model.log_var_clip",
    "epoch_size": "train.epochs_per_stage",
    "batch_size": "train.batch_size",
    "beta": "train.beta",
    "coff": "train.coff",
    "KL": "train.pre_kl",
    "fadein": "train.fade_in",
    "fade_in_duration": "train.fade_in_duration",
    "learning_rate": "train.learning_rate",
    "adam_beta1": "train.adam_beta1",
    "adam_beta2": "train.adam_beta2",
    "adam_epsilon": "train.adam_epsilon",
    "seed": "train.seed",
    "train_seq": "train.train_seq",
    "xla": "train.xla",
    "exact_zero_branches": "train.exact_zero_branches",
    "log_every": "train.log_every",
    "max_to_keep": "train.max_to_keep",
    "strategy": "train.strategy",
    "devices": "train.devices",
    "cpu_devices": "train.cpu_devices",
    "mixed_precision": "train.mixed_precision",
    **{f.name: f"eval.{f.name}" for f in dataclasses.fields(EvalConfig)
       if f.name != "mean_loss_batch"},
}
# Fields that no flag sets, and what sets them.
DERIVED_FIELDS = {
    "model.channels": "the --dataset's images",
    "eval.mean_loss_batch": "--batch_size when given with --mode=2, else "
                            "the original's default (100)"}

def from_flags(fv) -> RunConfig:
    """Validates the parsed flags and builds the :class:`RunConfig`.

    ``--dataset`` selects its recipe (:mod:`provlae_tf.recipes`) for every
    recipe flag that the command line and flagfiles leave unset.

    Raises:
        UserError: naming the offending flag and what was expected.
    """
    return build_config(*flag_request(fv))


def flag_request(fv) -> tuple[dict[str, Any], set[str]]:
    """``(values, explicit)``: every flag's value, and the flags the command
    line or a flagfile set (the others may take a recipe's value)."""
    values = {name: fv[name].value for name in FLAG_FIELDS}
    explicit = {name for name in FLAG_FIELDS
                if not fv[name].using_default_value}
    return values, explicit


# Reference: docs/original.md#dataset-choice
def choose_dataset(values: Mapping[str, Any],
                   explicit: Collection[str] = ()) -> tuple[str, str]:
    """The dataset of a command line, and what chose it.

    ``--dataset`` when given; else the original's rule on ``--checkpoint_dir``
    when the directory's name carries it ("Celeb" or "3dshape"); else
    ``values["dataset"]`` (the flag's default, dSprites).

    Returns:
        ``(dataset, chosen_by)`` with ``chosen_by`` one of ``"--dataset"``,
        ``"--checkpoint_dir"``, ``"default"``.
    """
    if "dataset" in explicit:
        return values["dataset"], "--dataset"
    named = dataset_named_by(values.get("checkpoint_dir") or "")
    if named:
        return named, "--checkpoint_dir"
    return values["dataset"], "default"


def dataset_notice(dataset: str, chosen_by: str) -> Optional[str]:
    """The line that says a dataset was not chosen by ``--dataset``."""
    if chosen_by != "--checkpoint_dir":
        return None
    return (f"dataset {dataset}, from --checkpoint_dir, as the original chose "
            "it; give --dataset to choose")


# Reference: docs/original.md#recipes
# Reference: docs/original.md#dataset-choice
def build_config(values: Mapping[str, Any],
                 explicit: Collection[str] = ()) -> RunConfig:
    """The :class:`RunConfig` of flag values ``{flag name: value}``.

    Args:
        values: a value for every flag of :data:`FLAG_FIELDS`, as absl
            parses it.
        explicit: the flags the user set; the others in the dataset's
            recipe take the recipe's value. Without ``--dataset``, the
            dataset follows :func:`choose_dataset`.
    """
    values = dict(values)
    values["dataset"], _ = choose_dataset(values, explicit)
    for name, value in RECIPES[values["dataset"]].items():
        if name not in explicit:
            values[name] = value
    validate(values)
    dataset = values["dataset"]
    if values["architecture"] == "auto":
        values["architecture"] = DEFAULT_ARCHITECTURE[dataset]
    values = apply_model_kind(values, NUM_LADDERS[values["architecture"]],
                              explicit)
    values["log_var_clip"] = parse_clip(values["log_var_clip"])
    values["mode"] = MODE_NAMES.get(values["mode"], values["mode"])
    values["checkpoint_dir"] = (values["checkpoint_dir"]
                                or os.path.join("runs", dataset))
    values["init_from"] = values["init_from"] or ""
    fields: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    top: dict[str, Any] = {}
    for flag, path in FLAG_FIELDS.items():
        section, _, field = path.rpartition(".")
        (fields[section] if section else top)[field] = values[flag]
    fields["model"]["channels"] = CHANNELS[dataset]
    # Reference: docs/original.md#mean-losses
    # The original's mode 2 averages in batches of its --batch_size, which
    # its visualisation script leaves at the default (100).
    fields["eval"]["mean_loss_batch"] = (
        values["batch_size"] if "batch_size" in explicit
        and values["mode"] == "visualize"
        else ORIGINAL_FLAG_DEFAULTS["batch_size"])
    return RunConfig(**top, **{name: _SECTIONS[name](**kw)
                               for name, kw in fields.items()})


def load_run_config(checkpoint_dir: str) -> Optional[RunConfig]:
    """Reads ``config.json`` of a run directory, or None when there is none."""
    path = os.path.join(checkpoint_dir, "config.json")
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return RunConfig.from_dict(json.load(f))
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"{path}: not a provlae_tf config ({e}). Use another "
                        "--checkpoint_dir.") from None
