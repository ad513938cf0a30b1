"""What one epoch's loop measures: its training speed and its mean losses."""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from provlae_tf.errors import TrainingDiverged
from provlae_tf.train.loss import Losses


# Reference: docs/original.md#training-log
class EpochSpeed:
    """Training throughput of one epoch's loop: input, steps and logging.

    The step that traces a stage's graph (a one-off of a few seconds) is
    left out, and so is the checkpoint written after the epoch: the figure
    is the rate the loop trains at, comparable with
    benchmarks/train_throughput.py's step rate.

    Args:
        train_step: the trainer's ``tf.function`` (its tracing count tells
            which step traced).
    """

    def __init__(self, train_step):
        self.train_step = train_step
        self.traces = train_step.experimental_get_tracing_count()
        self.first = self.start = time.perf_counter()
        self.steps = self.all_steps = 0

    def stepped(self) -> None:
        """Counts a step that has just returned."""
        self.all_steps += 1
        traces = self.train_step.experimental_get_tracing_count()
        if traces != self.traces:  # this step traced: restart the clock
            self.traces, self.start, self.steps = traces, \
                time.perf_counter(), 0
        else:
            self.steps += 1

    def elapsed(self) -> float:
        """Seconds since the epoch's loop started, the tracing step
        included (what training.json records)."""
        return time.perf_counter() - self.first

    def images_per_s(self, batch_size: int) -> float:
        """Images per second since the clock started (the whole loop when
        no step followed the tracing one)."""
        steps, start = (self.steps, self.start) if self.steps \
            else (self.all_steps, self.first)
        return steps * batch_size / max(time.perf_counter() - start, 1e-9)


class LossWindow:
    """Collects step losses without a device sync per step.

    Args:
        where: says where training is, for the divergence error
            ("stage 2, epoch 1").
        advice: what to do, the divergence error's last sentences.
        first_step: the epoch's steps done before this window (a resumed
            epoch), so the error counts steps from the epoch's first.
    """

    def __init__(self, where: str, advice: str = "", first_step: int = 0):
        self.where, self.advice, self.first_step = where, advice, first_step
        self.pending: list[Losses] = []
        self.recon_sum, self.kl_sum, self.count = 0.0, 0.0, 0

    def add(self, losses: Losses) -> None:
        """Keeps a step's losses (tensors) until the next :meth:`flush`."""
        self.pending.append(losses)

    # Reference: docs/original.md#non-finite-loss
    def flush(self):
        """Means of the pending steps; raises if any loss is not finite."""
        if not self.pending:
            return float("nan"), np.array([np.nan])
        # One transfer (and device sync) per quantity, not one per step.
        total = tf.stack([l.total for l in self.pending]).numpy().astype(
            np.float64)
        recon = tf.stack([l.reconstruction for l in self.pending]).numpy() \
            .astype(np.float64)
        kl = tf.stack([l.kl for l in self.pending]).numpy()
        bad = np.flatnonzero(~np.isfinite(total))
        if bad.size:
            # Steps counted from the epoch's first: those before this
            # window, the flushed ones, then the first pending one that
            # went wrong.
            step = self.first_step + self.count + int(bad[0]) + 1
            raise TrainingDiverged(
                f"The loss became {total[bad[0]]} at {self.where}, step "
                f"{step}. {self.advice}".rstrip())
        self.pending = []
        self.recon_sum += recon.sum()
        self.kl_sum = self.kl_sum + kl.sum(axis=0)
        self.count += len(recon)
        return float(recon.mean()), kl.mean(axis=0)

    # Reference: docs/original.md#training-log
    def epoch_means(self):
        """The epoch's mean reconstruction loss and KL per ladder, over
        every flushed step."""
        return self.recon_sum / max(self.count, 1), \
            np.asarray(self.kl_sum) / max(self.count, 1)
