"""From a command line's flag values to the :class:`RunConfig`.

A command line is ``(values, explicit)``: every flag's value and the names
of the flags the user set (:func:`flag_request`); the others may take a
recipe's value. :func:`build_config` applies, in order: the dataset choice,
the dataset's recipe, the network ``auto`` picks, what ``--model`` means,
and the derived fields. Every value is checked by its declaration before it
is transformed, so a bad flag is named with the value the user gave.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Collection, Mapping, Optional

from provlae_tf.config.sections import (NUM_LADDERS, SECTIONS, RunConfig,
                                        check_train_seq)
from provlae_tf.datasets import (DATASETS, ORIGINAL_FLAG_DEFAULTS,
                                 dataset_named_by)
from provlae_tf.errors import UserError
from provlae_tf.options import Option, check_value, options_of


def all_options() -> list[Option]:
    """Every declared value of the run, sections included, in order."""
    found = [o for o in options_of(RunConfig)]
    for name, section_type in SECTIONS.items():
        found += options_of(section_type, name)
    return found


def flag_options() -> dict[str, Option]:
    """``{flag name: option}`` of every value a flag sets."""
    return {o.flag: o for o in all_options() if o.flag}


def flag_request(fv) -> tuple[dict[str, Any], set[str]]:
    """``(values, explicit)`` of parsed absl ``FlagValues``: every flag's
    value, and the flags the command line or a flagfile set."""
    names = [name for name in flag_options() if name in fv]
    values = {name: fv[name].value for name in names}
    explicit = {name for name in names if not fv[name].using_default_value}
    return values, explicit


def from_flags(fv) -> RunConfig:
    """The :class:`RunConfig` of parsed absl ``FlagValues``."""
    return build_config(*flag_request(fv))


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


# Reference: docs/original.md#dataset-choice
def dataset_notice(dataset: str, chosen_by: str) -> Optional[str]:
    """The line that says a dataset was not chosen by ``--dataset``."""
    if chosen_by != "--checkpoint_dir":
        return None
    return (f"dataset {dataset}, from --checkpoint_dir, as the original chose "
            "it; give --dataset to choose")


# Reference: docs/original.md#defaults
# Reference: docs/original.md#recipes
# Reference: docs/original.md#dataset-choice
def build_config(values: Mapping[str, Any],
                 explicit: Collection[str] = ()) -> RunConfig:
    """The :class:`RunConfig` of flag values ``{flag name: value}``.

    Args:
        values: a value for every flag (:func:`flag_options`), as absl
            parses it.
        explicit: the flags the user set; the others in the dataset's
            recipe take the recipe's value. Without ``--dataset``, the
            dataset follows :func:`choose_dataset`.

    Raises:
        UserError: one line naming the offending flag and what was expected.
    """
    options = flag_options()
    values = dict(values)
    values["dataset"], _ = choose_dataset(values, explicit)
    spec = DATASETS[values["dataset"]]
    for name, value in spec.recipe.items():
        if name not in explicit:
            values[name] = value
    fields = {}
    for name, opt in options.items():
        if opt.flag_default is None and values[name] is None:
            continue  # derived below
        fields[name] = opt.to_field(values[name])
        if name != "architecture":  # "auto" is resolved below
            check_value(opt, fields[name])
    if fields["architecture"] == "auto":
        fields["architecture"] = spec.architecture
    check_value(options["architecture"], fields["architecture"])
    fields = _apply_model_kind(fields, NUM_LADDERS[fields["architecture"]],
                               explicit)
    fields.setdefault("checkpoint_dir", os.path.join("runs", spec.name))
    fields.setdefault("init_from", "")
    sections: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    top: dict[str, Any] = {}
    for name, value in fields.items():
        opt = options[name]
        (sections[opt.section] if opt.section else top)[opt.field] = value
    sections["model"]["channels"] = spec.channels
    # Reference: docs/original.md#mean-losses
    # The original's mode 2 averages in batches of its --batch_size, which
    # its visualisation script leaves at the default (100).
    sections["eval"]["mean_loss_batch"] = (
        fields["batch_size"] if "batch_size" in explicit
        and fields["mode"] == "visualize"
        else ORIGINAL_FLAG_DEFAULTS["batch_size"])
    return RunConfig(**top, **{name: SECTIONS[name](**kw)
                               for name, kw in sections.items()})


# Reference: docs/original.md#baselines
def _apply_model_kind(fields: dict[str, Any], num_ladders: int,
                      explicit: Collection[str]) -> dict[str, Any]:
    """Flag values with ``--model``'s schedule applied: a baseline trains in
    one stage for the whole progressive run's epochs, without fade-in or
    pre-KL (there is no ladder to fade in and none inactive)."""
    kind, train_seq = fields["model"], str(fields["train_seq"])
    if kind == "provlae":
        check_train_seq(train_seq, num_ladders)
        return fields
    # The ladder network's last stage, or the single ladder's only one.
    stage = str(num_ladders) if kind == "vlae" else "1"
    if "train_seq" in explicit and train_seq not in ("all", stage):
        raise UserError(
            f"--train_seq={train_seq}: --model={kind} trains in one stage "
            f"(stage {stage}, every ladder from the first step); expected "
            f"'all' or {stage}, or --model=provlae for the progressive stages.")
    return {**fields, "train_seq": stage, "fadein": False, "KL": False,
            "epoch_size": num_ladders * fields["epoch_size"]}


def with_flags(config: RunConfig, **changes) -> RunConfig:
    """``config`` with some values changed, by flag name (e.g.
    ``with_flags(config, epoch_size=2, dataset="3dshapes")``); checked as
    the flags would be."""
    options = flag_options()
    sections: dict[str, dict[str, Any]] = {}
    top = {}
    for name, value in changes.items():
        opt = options[name]
        value = opt.to_field(value)
        check_value(opt, value)
        (sections.setdefault(opt.section, {}) if opt.section
         else top)[opt.field] = value
    replaced = {name: dataclasses.replace(getattr(config, name), **kw)
                for name, kw in sections.items()}
    return dataclasses.replace(config, **top, **replaced)
