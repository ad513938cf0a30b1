"""Frozen run configuration, built once from the flags and saved as config.json."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Optional

from provlae_tf.errors import UserError

CHANNELS = {"dsprites": 1, "3dshapes": 3, "celeba": 3, "mnist": 1}
NUM_LADDERS = {"small": 3, "celeba": 4}
MODE_NAMES = {"1": "train", "2": "visualize", "3": "metrics"}


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Everything that fixes the network's variables and forward pass.

    Attributes:
        architecture: ``"small"`` (L = 3) or ``"celeba"`` (L = 4).
        z_dim: latent dimensions per ladder.
        channels: image channels (1 or 3).
        fix_encoder_fade: fade the ladder that switches on in the CelebA
            encoder instead of reproducing the original's off-by-one.
        bn_epsilon: epsilon of the frozen-statistics "BN".
        log_var_clip: (low, high) clip of the log-variances after sampling,
            used by the architectures that clip (CelebA).
    """

    architecture: str = "small"
    z_dim: int = 2
    channels: int = 1
    fix_encoder_fade: bool = False
    bn_epsilon: float = 1e-3
    log_var_clip: tuple = (-100.0, 3.0)

    @property
    def num_ladders(self) -> int:
        return NUM_LADDERS[self.architecture]


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Which images to train on."""

    dataset: str = "dsprites"
    data_dir: str = "data"
    max_examples: int = 0  # 0 = all


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The progressive training recipe (original-code.md §1, §6)."""

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
    log_every: int = 20
    max_to_keep: int = 1

    def stages(self, num_ladders: int) -> list[int]:
        """The stages this invocation asks for."""
        if self.train_seq == "all":
            return list(range(1, num_ladders + 1))
        return [int(self.train_seq)]


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Options of --mode=2 (visualize) and --mode=3 (metrics)."""

    traverse_from: str = "sample"
    traverse_image: int = 0
    eval_images: int = 0  # 0 = all
    # --mode=3 (provlae_tf.metrics.report.MetricOptions has the rest).
    mig_samples: int = 10000
    include_shape: bool = False
    factor_train_votes: int = 10000
    factor_eval_votes: int = 5000
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

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        model = dict(d["model"])
        model["log_var_clip"] = tuple(model["log_var_clip"])
        return cls(checkpoint_dir=d["checkpoint_dir"], mode=d["mode"],
                   log_file=d["log_file"], data=DataConfig(**d["data"]),
                   model=ModelConfig(**model), train=TrainConfig(**d["train"]),
                   init_from=d.get("init_from", ""),
                   restore=d.get("restore", "strict"),
                   eval=EvalConfig(**d.get("eval", {})))

    def identity(self) -> dict[str, Any]:
        """What must not change when a run is continued: the variables' shapes
        and the data the order was drawn over."""
        return {**dataclasses.asdict(self.model),
                "dataset": self.data.dataset,
                "max_examples": self.data.max_examples}


def from_flags(fv) -> RunConfig:
    """Validates the parsed flags and builds the :class:`RunConfig`.

    Raises:
        UserError: naming the offending flag and what was expected.
    """
    architecture = fv.architecture
    if architecture == "auto":
        architecture = "celeba" if fv.dataset == "celeba" else "small"
    num_ladders = NUM_LADDERS[architecture]
    _require(fv.z_dim > 0, "z_dim", fv.z_dim, "a positive integer")
    _require(fv.batch_size > 0, "batch_size", fv.batch_size,
             "a positive integer")
    _require(fv.epoch_size > 0, "epoch_size", fv.epoch_size,
             "a positive number of epochs per stage")
    _require(fv.learning_rate > 0, "learning_rate", fv.learning_rate,
             "a positive float")
    _require(fv.fade_in_duration >= 0, "fade_in_duration",
             fv.fade_in_duration, "an integer >= 0")
    _require(fv.max_examples >= 0, "max_examples", fv.max_examples,
             "0 (all) or a positive integer")
    _require(fv.eval_images >= 0, "eval_images", fv.eval_images,
             "0 (all) or a positive integer")
    _require(fv.traverse_image >= 0, "traverse_image", fv.traverse_image,
             "a dataset index >= 0")
    for name in ("mig_samples", "factor_train_votes", "factor_eval_votes",
                 "info_samples"):
        _require(fv[name].value > 0, name, fv[name].value,
                 "a positive integer")
    _require(fv.info_images >= 0, "info_images", fv.info_images,
             "0 (off) or a positive number of images")
    _require(fv.log_every > 0, "log_every", fv.log_every, "a positive integer")
    _require(fv.max_to_keep > 0, "max_to_keep", fv.max_to_keep,
             "a positive integer")
    train_seq = _parse_train_seq(fv.train_seq, num_ladders)
    clip = _parse_clip(fv.log_var_clip)
    checkpoint_dir = fv.checkpoint_dir or os.path.join("runs", fv.dataset)
    _check_log_file(fv.log_file)
    return RunConfig(
        checkpoint_dir=checkpoint_dir,
        mode=MODE_NAMES.get(fv.mode, fv.mode),
        log_file=fv.log_file,
        data=DataConfig(fv.dataset, fv.data_dir, fv.max_examples),
        model=ModelConfig(architecture, fv.z_dim, CHANNELS[fv.dataset],
                          fv.fix_encoder_fade, fv.bn_epsilon, clip),
        train=TrainConfig(
            fv.epoch_size, fv.batch_size, fv.beta, fv.coff, fv.KL, fv.fadein,
            fv.fade_in_duration, fv.learning_rate, fv.adam_beta1,
            fv.adam_beta2, fv.adam_epsilon, fv.seed, train_seq, fv.xla,
            fv.log_every, fv.max_to_keep),
        init_from=fv.init_from or "", restore=fv.restore,
        eval=EvalConfig(fv.traverse_from, fv.traverse_image, fv.eval_images,
                        fv.mig_samples, fv.include_shape,
                        fv.factor_train_votes, fv.factor_eval_votes,
                        fv.info_samples, fv.info_images))


def _require(ok: bool, flag: str, value, expected: str) -> None:
    if not ok:
        raise UserError(f"--{flag}={value}: expected {expected}.")


def _parse_train_seq(value: str, num_ladders: int) -> str:
    if value == "all":
        return value
    if value.isdigit() and 1 <= int(value) <= num_ladders:
        return str(int(value))
    raise UserError(f"--train_seq={value}: expected 'all' or a stage 1.."
                    f"{num_ladders} (this model has {num_ladders} ladders).")


def _parse_clip(values) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in values)
    except (TypeError, ValueError):
        low = high = None
    if low is None or not low < high:
        raise UserError(f"--log_var_clip={','.join(values)}: expected two "
                        "numbers low,high with low < high, e.g. -100,3.")
    return (low, high)


def _check_log_file(log_file: str) -> None:
    if os.path.isabs(log_file) or os.pardir in log_file.split(os.sep):
        raise UserError(f"--log_file={log_file}: expected a file name inside "
                        "--checkpoint_dir (everything a run writes stays "
                        "there).")


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
