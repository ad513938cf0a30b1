"""provlae_tf: a faithful TensorFlow 2 port of pro-VLAE (Li et al., ICLR 2020).

Public API::

    from provlae_tf import ProVLAE, ModelConfig, load_checkpoint
    model, config = load_checkpoint("runs/dsprites")
    codes = model.encode(images)             # [(mean, log_var)] per ladder 1..L
    logits = model.decode([mean for mean, _ in codes])
"""

import importlib
import os

__version__ = "0.1.0"

# oneDNN's CPU kernels. TensorFlow turns them on by itself only on recent
# x86 CPUs (with AVX-512's neural-network extensions); on others, e.g. AVX2
# ones, it runs its Eigen kernels, which train these models at about half
# the speed (docs/speed.md). Numbers differ from Eigen's by
# float rounding only. The variable is read when TensorFlow loads, so it is
# set here, before any module of the package imports TensorFlow; a value
# the user set (TF_ENABLE_ONEDNN_OPTS=0 keeps Eigen's kernels) is kept.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

# TensorFlow's C++ log lines: TF_CPP_MIN_LOG_LEVEL=0 shows them all, 1 hides
# INFO, 2 also WARNING, 3 also ERROR. Its INFO lines (start-up notices, input
# pipeline chatter) bury our first line and break the progress bar, so they
# and WARNING lines show only when asked (TF_CPP_MIN_LOG_LEVEL=0, or 1 for
# warnings); errors show. Read when TensorFlow loads, so set here; a value
# the user set is kept. (TensorFlow prints a few lines before it reads the
# variable: the command lines filter those, see provlae_tf.native_log.)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# Loaded on first use, so that `python -m provlae_tf.main --bad_flag` answers
# without importing TensorFlow.
_EXPORTS = {
    "ProVLAE": "provlae_tf.model.ladder",
    "LadderCode": "provlae_tf.model.ladder",
    "ModelOutput": "provlae_tf.model.ladder",
    "ModelConfig": "provlae_tf.config",
    "RunConfig": "provlae_tf.config",
    "load_checkpoint": "provlae_tf.api",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'provlae_tf' has no attribute {name!r}")
