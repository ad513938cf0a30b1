"""Shared test setup: quiet TensorFlow, deterministic ops."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

# Resume tests compare runs bit for bit.
tf.config.experimental.enable_op_determinism()
