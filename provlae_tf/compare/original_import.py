"""Imports the original's model modules under ``tf.compat.v1``.

Only the original's child process imports this module (it replaces the
process's ``tensorflow`` module). What the original needs on today's
TensorFlow 2:

- ``TF_USE_LEGACY_KERAS=1`` before TensorFlow loads: its
  ``tf.layers.batch_normalization`` (``tf.compat.v1.layers``) refuses
  Keras 3 and runs on the ``tf_keras`` package;
- ``import tensorflow as tf`` resolving to ``tf.compat.v1`` with the v2
  behaviour disabled (graph mode, reference variables, ``tf.layers``,
  ``tf.train.AdamOptimizer``, ``tf.summary.scalar`` as in TF 1);
- its ``import torch``, ``from torch.autograd import Variable`` and
  ``import lib.dist as dist`` (its metric's PyTorch code, unused by the
  graph and the training step) importable: stand-ins are given only where
  PyTorch is missing, and they refuse any use beyond what the model's
  constructor does with them.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types

from provlae_tf.compare.child import MODULES, check_original_code


class OriginalImportError(Exception):
    """The original code cannot run here; a one-line reason."""


def prepare_tensorflow():
    """Loads TensorFlow as the original needs it; returns ``tf.compat.v1``.

    Must run before anything in the process imports TensorFlow.
    """
    if "tensorflow" in sys.modules and \
            os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        raise OriginalImportError(
            "TensorFlow was loaded before TF_USE_LEGACY_KERAS=1 was set")
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tensorflow as tf
    v1 = tf.compat.v1
    try:
        import tf_keras  # noqa: F401  (what tf.compat.v1.layers runs on)
    except ImportError:
        raise OriginalImportError(
            f"TensorFlow {tf.__version__}: the original's tf.layers need the "
            "tf_keras package (pip install tf-keras)") from None
    for needed in ("layers.batch_normalization", "layers.conv2d",
                   "layers.conv2d_transpose", "train.AdamOptimizer",
                   "placeholder", "variable_scope", "random_normal"):
        owner = v1
        for part in needed.split("."):
            owner = getattr(owner, part, None)
        if owner is None:
            raise OriginalImportError(
                f"TensorFlow {tf.__version__} has no tf.compat.v1.{needed}, "
                "which the original code uses")
    v1.disable_v2_behavior()
    # The original's modules `import tensorflow as tf` and call TF 1 names
    # (tf.placeholder, tf.layers, ...) on it.
    sys.modules["tensorflow"] = v1
    return v1


def import_model_module(directory: str, architecture: str):
    """The original's model module of ``architecture``, imported from
    ``directory`` (whose ``lib`` package and modules come first on the path).

    Raises:
        OriginalImportError: the directory is not the original code, or its
            module fails to import.
    """
    try:
        check_original_code(directory, (architecture,))
    except Exception as e:  # a UserError: same message for the user
        raise OriginalImportError(str(e)) from None
    directory = os.path.abspath(directory)
    if sys.path[0] != directory:
        sys.path.insert(0, directory)
    _install_stand_ins()
    try:
        return importlib.import_module(MODULES[architecture])
    except Exception as e:  # the original's own import failing
        raise OriginalImportError(
            f"--original_code={directory}: importing "
            f"{MODULES[architecture]}.py failed: {type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else ''}") from None


def _missing(name: str) -> bool:
    if name in sys.modules:
        return False
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):
        return True


def _install_stand_ins() -> None:
    """Stand-ins for PyTorch and the original's PyTorch module lib.dist,
    only when PyTorch is missing (with PyTorch, the real ones load)."""
    if not _missing("torch"):
        return
    torch = _StandIn("torch")
    torch.zeros = lambda *shape: _Inert("torch.zeros(...)")
    autograd = _StandIn("torch.autograd")
    autograd.Variable = lambda value: value
    torch.autograd = autograd
    sys.modules.update({"torch": torch, "torch.autograd": autograd})
    # lib/dist.py is the original's PyTorch code (needs torch.nn): the
    # model's constructor only creates its distributions, never uses them.
    dist = _StandIn("lib.dist")
    dist.Normal = lambda *a, **k: _Inert("lib.dist.Normal()")
    dist.Bernoulli = lambda *a, **k: _Inert("lib.dist.Bernoulli()")
    try:
        lib = importlib.import_module("lib")
    except ImportError:  # then the original's own import fails, clearly
        return
    lib.dist = dist
    sys.modules["lib.dist"] = dist


class _StandIn(types.ModuleType):
    """A module standing in for a missing one."""

    def __getattr__(self, name):
        if name.startswith("__"):  # asked by the import system
            raise AttributeError(name)
        raise OriginalImportError(
            f"{self.__name__}.{name}: PyTorch is not installed and this "
            "stand-in only covers what the original's model constructor "
            "uses")


class _Inert:
    """A value the original's constructor stores and never uses."""

    def __init__(self, what: str):
        self._what = what

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise OriginalImportError(
            f"{self._what}.{name}: PyTorch is not installed (a stand-in "
            "only)")
