"""Checkpoints of the original TF1 code: recognise, inspect, import, export.

An original run directory holds a TF1 ``checkpoint`` state file and
``checkpoint-<iter>.index`` / ``.data-*`` written by ``tf.train.Saver``, with
variables named ``vae_ladder/<scope>/<layer>/<param>``, Adam slots
``<var>/Adam`` and ``<var>/Adam_1`` and the scalars ``beta1_power`` /
``beta2_power``. The name table is explicit
(:mod:`provlae_tf.model.naming`); nothing is matched by guesswork unless
``restore="optimistic"`` asks for the original's own fallback.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Union

import numpy as np
import tensorflow as tf

from provlae_tf import run_files
from provlae_tf.errors import UserError
from provlae_tf.model.naming import (frozen_statistics_table,
                                     original_variable_table)
from provlae_tf.train.checkpoint_writes import staged_directory
from provlae_tf.train.optimizer import AdamSteps, steps_from_powers

STATE_FILE = "checkpoint"
RESTORE_MODES = ("strict", "optimistic")
# Where each architecture keeps the top ladder's posterior-mean kernel.
_TOP_MEAN_KERNEL = {"small": "vae_ladder/qladder3/dense_1/kernel",
                    "celeba": "vae_ladder/qladder4/dense_2/kernel"}
_LISTED = 8  # mismatches named in an error before "and N more"


@dataclasses.dataclass(frozen=True)
class OriginalCheckpoint:
    """What an original checkpoint says about itself.

    Attributes:
        prefix: the checkpoint prefix (``.../checkpoint-<iter>``).
        architecture: ``"small"`` or ``"celeba"``.
        z_dim: latent dimensions per ladder.
        channels: image channels.
        steps: Adam updates taken, as the beta powers record them:
            ``steps.exact`` is None when they cannot tell (``beta1_power``
            underflows to 0.0 after 828 updates; see
            :func:`~provlae_tf.train.optimizer.steps_from_powers`), with a
            lower bound in ``steps.at_least``; 0 without Adam state.
    """

    prefix: str
    architecture: str
    z_dim: int
    channels: int
    steps: AdamSteps

    def describe(self) -> str:
        return (f"architecture {self.architecture}, z_dim {self.z_dim}, "
                f"{self.channels} channel{'s' if self.channels > 1 else ''}")


@dataclasses.dataclass
class ImportReport:
    """What an import loaded and what it left out (optimistic mode)."""

    loaded: list[str]
    skipped: list[str]


def is_original_directory(directory: str) -> bool:
    """True for a directory laid out by the original code (not a provlae_tf run)."""
    return (os.path.isfile(os.path.join(directory, STATE_FILE))
            and not os.path.exists(run_files.path(directory,
                                                  run_files.CONFIG)))


def latest_prefix(directory: str) -> str:
    """The checkpoint prefix named by an original directory's state file.

    Raises:
        UserError: no state file, or the files it names are missing.
    """
    if not os.path.isfile(os.path.join(directory, STATE_FILE)):
        raise UserError(f"{directory}: no TF1 '{STATE_FILE}' file; expected a "
                        "directory written by the original pro-VLAE code.")
    try:
        state = tf.train.get_checkpoint_state(directory)
    except (tf.errors.OpError, ValueError):
        state = None
    if state is None or not state.model_checkpoint_path:
        raise UserError(f"{os.path.join(directory, STATE_FILE)}: unreadable "
                        "or empty checkpoint state file.")
    # Paths in the state file may be absolute ones from another machine.
    prefix = os.path.join(directory,
                          os.path.basename(state.model_checkpoint_path))
    if not os.path.exists(prefix + ".index"):
        raise UserError(f"{directory}: the state file names "
                        f"{os.path.basename(prefix)}, but {prefix}.index is "
                        "missing. Copy the whole checkpoint.")
    return prefix


def iteration_of(prefix: str) -> int:
    """The iteration in a ``checkpoint-<iter>`` name (0 when there is none)."""
    tail = os.path.basename(prefix).rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def inspect(prefix: str, beta1: float = 0.9,
            beta2: float = 0.999) -> OriginalCheckpoint:
    """Reads the architecture, z_dim, channels and step count of a checkpoint.

    ``beta1``/``beta2`` are the Adam betas its powers were made with (the
    original's defaults unless --adam_beta1/--adam_beta2 say otherwise).
    """
    shapes = _list_shapes(prefix)
    architecture = ("celeba" if "vae_ladder/qh4/conv2d/kernel" in shapes
                    else "small")
    needed = (_TOP_MEAN_KERNEL[architecture], "vae_ladder/qh1/conv2d/kernel")
    if any(name not in shapes for name in needed):
        raise UserError(f"{prefix}: not a pro-VLAE checkpoint (no "
                        f"{' or '.join(n for n in needed if n not in shapes)}).")
    steps = AdamSteps(0)
    if "beta1_power" in shapes:
        # Reference: docs/original.md#adam-state-across-stages
        # beta_power = beta^(1 + steps), in float32 (0.0 once it
        # underflows); read as stored, never through a logarithm.
        powers = _read(prefix, [n for n in ("beta1_power", "beta2_power")
                                if n in shapes])
        steps = steps_from_powers(powers["beta1_power"],
                                  powers.get("beta2_power"), beta1, beta2)
    return OriginalCheckpoint(prefix, architecture,
                              int(shapes[_TOP_MEAN_KERNEL[architecture]][-1]),
                              int(shapes["vae_ladder/qh1/conv2d/kernel"][2]),
                              steps)


# Reference: docs/original.md#variable-names
def original_tensors(model, optimizer=None) -> dict[str, Union[tf.Variable, float]]:
    """Every original checkpoint name mapped to our variable or a constant.

    Moving statistics map to their constants (0.0 / 1.0); Adam slots and the
    beta powers are included when ``optimizer`` is given.
    """
    targets: dict = {}
    for name, var in original_variable_table(model).items():
        targets[name] = var
        if optimizer is not None:
            m, v = optimizer.slots(var)
            targets[name + "/Adam"], targets[name + "/Adam_1"] = m, v
    if optimizer is not None:
        targets["beta1_power"] = optimizer.beta1_power
        targets["beta2_power"] = optimizer.beta2_power
    for name, (_, value) in frozen_statistics_table(model).items():
        targets[name] = value
    return targets


def _shape_of(model, name: str, target) -> tuple:
    if isinstance(target, tf.Variable):
        return tuple(target.shape)
    return frozen_statistics_table(model)[name][0]


# Reference: docs/original.md#optimistic-restore
def import_original(prefix: str, model, optimizer=None,
                    restore: str = "strict") -> ImportReport:
    """Loads an original checkpoint into ``model`` (and ``optimizer``).

    Args:
        prefix: the checkpoint prefix.
        model: a :class:`~provlae_tf.model.ladder.ProVLAE` of the same shape.
        optimizer: a :class:`~provlae_tf.train.optimizer.TF1Adam` over the
            model's variables, to receive the Adam slots and beta powers.
        restore: ``"strict"`` (every variable mapped, present and of the
            right shape, or nothing is loaded) or ``"optimistic"`` (the
            original's fallback: load what matches by name and shape).

    Raises:
        UserError: strict mode and any mismatch, or an unreadable file.
    """
    if restore not in RESTORE_MODES:
        raise UserError(f"--restore={restore}: expected one of "
                        f"{', '.join(RESTORE_MODES)}.")
    shapes = _list_shapes(prefix)
    targets = original_tensors(model, optimizer)
    ignored = set() if optimizer is not None else {
        n for n in shapes if n.endswith(("/Adam", "/Adam_1"))
        or n in ("beta1_power", "beta2_power")}
    misshaped, matching = [], []
    for name, target in targets.items():
        if name in shapes:
            expected = _shape_of(model, name, target)
            if tuple(shapes[name]) != expected:
                misshaped.append(f"{name}: expected shape {list(expected)}, "
                                 f"found {list(shapes[name])}")
            else:
                matching.append(name)
    problems = misshaped + [
        f"{n}: expected by the model, missing from the checkpoint"
        for n in targets if n not in shapes] + [
        f"{n}: in the checkpoint, not in the model (unmapped)"
        for n in sorted(set(shapes) - set(targets) - ignored)]
    values = _read(prefix, matching)
    for name in matching:
        constant = targets[name]
        if not isinstance(constant, tf.Variable) and \
                not np.all(values[name] == constant):
            problems.append(f"{name}: expected the constant {constant} "
                            "(moving statistics are never updated by the "
                            "original), found other values")
    if problems and restore == "strict":
        raise UserError(_mismatch_message(prefix, model, problems))
    loaded = []
    for name in matching:
        if isinstance(targets[name], tf.Variable):
            targets[name].assign(values[name])
        loaded.append(name)
    skipped = [p.split(":")[0] for p in problems]
    return ImportReport(loaded, skipped)


def _mismatch_message(prefix: str, model, problems: list[str]) -> str:
    listed = "\n  ".join(problems[:_LISTED])
    more = (f"\n  ... and {len(problems) - _LISTED} more"
            if len(problems) > _LISTED else "")
    config = model.config
    try:
        found = f" The checkpoint has {inspect(prefix).describe()}."
    except UserError:
        found = ""
    ours = OriginalCheckpoint("", config.architecture, config.z_dim,
                              config.channels, AdamSteps(0)).describe()
    return (f"{prefix} does not match the model ({ours}):\n  {listed}{more}\n{found} Use the checkpoint's own "
            "settings, or --restore=optimistic to load only what matches "
            "(as the original's fallback does).")


# Reference: docs/original.md#checkpoint-naming
def export_original(model, optimizer, out_dir: str, step: int) -> str:
    """Writes an original-layout TF1 checkpoint ``out_dir/checkpoint-<step>``.

    Same names, shapes, Adam slots, beta powers and (constant) moving
    statistics as the original; readable by ``tf.compat.v1.train.Saver``.
    The directory appears only when complete.

    Returns:
        The checkpoint prefix written.
    """
    values = {name: (target.numpy() if isinstance(target, tf.Variable)
                     else np.full(_shape_of(model, name, target), target,
                                  np.float32))
              for name, target in original_tensors(model, optimizer).items()}
    return write_tf1_checkpoint(values, out_dir, step)


def write_tf1_checkpoint(values: dict[str, np.ndarray], out_dir: str,
                         step: int) -> str:
    """Saves named arrays with a TF1 ``Saver`` (relative paths), atomically."""
    graph = tf.Graph()
    with graph.as_default(), staged_directory(out_dir) as tmp:
        variables = {name: tf.compat.v1.Variable(value, name=name)
                     for name, value in values.items()}
        saver = tf.compat.v1.train.Saver(var_list=variables,
                                         save_relative_paths=True)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, os.path.join(tmp, "checkpoint"),
                       global_step=step, write_meta_graph=False)
    return os.path.join(out_dir, f"checkpoint-{step}")


def _reader(prefix: str):
    try:
        return tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError) as e:
        raise UserError(f"{prefix}.index: unreadable TF1 checkpoint "
                        f"({_first_line(e)}). Copy the checkpoint again.") \
            from None


def _list_shapes(prefix: str) -> dict[str, list[int]]:
    reader = _reader(prefix)
    return {name: list(shape) for name, shape
            in reader.get_variable_to_shape_map().items()}


def _read(prefix: str, names) -> dict[str, np.ndarray]:
    reader = _reader(prefix)
    values = {}
    for name in names:
        try:
            values[name] = reader.get_tensor(name)
        # A short data file raises IndexError ("Read less bytes than requested").
        except (tf.errors.OpError, ValueError, IndexError) as e:
            raise UserError(
                f"{prefix}.data-*: cannot read {name} ({_first_line(e)}); the "
                "data file is truncated or corrupt. Copy the checkpoint "
                "again.") from None
    return values


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:200] if str(error) else \
        type(error).__name__
