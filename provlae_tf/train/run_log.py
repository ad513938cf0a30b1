"""The run's record: time-stamped lines in ``--log_file``, epoch summaries
and TensorBoard scalars (the progress bar is :mod:`provlae_tf.progress`)."""

from __future__ import annotations

import os
import time
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from provlae_tf import run_files
# TensorBoard's scalar plugin reads summaries tagged with this metadata; we
# write them with core TF so the tensorboard package is not a dependency.
_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))


def write_scalar(tag: str, value: float, step: int) -> None:
    """Writes one TensorBoard scalar to the default summary writer."""
    tf.summary.write(tag, tf.constant(value, tf.float32), step=step,
                     metadata=_SCALAR_METADATA)


# Reference: docs/original.md#training-log
class RunLog:
    """Writes text lines to the console and ``--log_file``, scalars to TensorBoard."""

    def __init__(self, run_dir: str, log_file: str, quiet: bool = False):
        self.path = os.path.join(run_dir, log_file)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.quiet = quiet
        self.writer = tf.summary.create_file_writer(
            run_files.path(run_dir, run_files.TENSORBOARD))

    def line(self, text: str, echo: bool = True) -> None:
        """Appends a time-stamped line to the log file; prints it if ``echo``."""
        stamped = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}"
        if echo and not self.quiet:
            print(text, flush=True)
        with open(self.path, "a") as f:
            f.write(stamped + "\n")

    def scalars(self, step: int, reconstruction: float, kl: Sequence[float],
                alpha: float, stage: int, total: Optional[float] = None) -> None:
        values = {run_files.TAG_RECONSTRUCTION: reconstruction,
                  run_files.TAG_KL_TOTAL: float(np.sum(kl)),
                  **{f"{run_files.TAG_KL_LADDER}{l}": v
                     for l, v in enumerate(kl, start=1)},
                  run_files.TAG_ALPHA: alpha, run_files.TAG_STAGE: stage}
        if total is not None:
            values["loss/total"] = total
        with self.writer.as_default():
            for tag, value in values.items():
                write_scalar(tag, float(value), step)

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()


# Reference: docs/original.md#training-log
def epoch_summary(stage: int, epoch: int, epochs: int, reconstruction: float,
                  kl: Sequence[float], alpha: float, images_per_s: float) -> str:
    """The end-of-epoch line: reconstruction, KL per ladder, alpha."""
    kls = " ".join(f"KL{l} {v:.3f}" for l, v in enumerate(kl, start=1))
    return (f"stage {stage} epoch {epoch}/{epochs}: recon {reconstruction:.3f}"
            f" {kls} alpha {alpha:.3f} ({images_per_s:.0f} img/s)")
