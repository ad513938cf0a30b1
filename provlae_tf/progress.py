"""A one-line progress bar, shared by training and the evaluation modes.

The bar shows the time left of its own work (``eta``) and, in training, of
the whole invocation (``run``: the rest of this epoch, the remaining epochs
of this stage and the stages this command will still train). Both come from
the speed of the steps this bar has seen done: a resumed epoch's restored
steps were not done now, so they do not count as done fast.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Optional, Sequence

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def format_duration(seconds: float) -> str:
    """A compact duration: its two largest units, e.g. ``42s``, ``3m12s``,
    ``21h04m``, ``2d03h`` (rounded down to the smaller unit)."""
    whole = max(int(seconds), 0)
    for index, (unit, size) in enumerate(_UNITS[:-1]):
        if whole >= size:
            small, small_size = _UNITS[index + 1]
            rest = whole % size // small_size
            return f"{whole // size}{unit}{rest:02d}{small}"
    return f"{whole}s"


def steps_after_epoch(stages: Sequence[int], stage: int, epoch: int,
                      epochs_per_stage: int, steps_per_epoch: int) -> int:
    """Training steps this invocation has left after the current epoch.

    Args:
        stages: the stages this command trains (``TrainConfig.stages``);
            the ones after ``stage`` have not started (a run trains its
            stages in order).
        stage: the stage being trained.
        epoch: the current epoch of that stage, from 0.
        epochs_per_stage: epochs of every stage.
        steps_per_epoch: steps of every epoch.
    """
    later = sum(1 for s in stages if s > stage)
    epochs = (epochs_per_stage - epoch - 1) + later * epochs_per_stage
    return max(epochs, 0) * steps_per_epoch


class ProgressBar:
    """A one-line progress bar with the latest losses (plain lines off a TTY).

    Args:
        total: steps of the bar's work.
        description: the line's first words.
        stream: where it is drawn (default stderr).
        width: characters of the bar.
        first: steps already done when the bar starts (a resumed epoch).
        after: steps of the invocation after the bar's own (training:
            :func:`steps_after_epoch`); when given, the line also shows the
            run's time left.
        clock: seconds, monotonic (tests inject their own).
    """

    def __init__(self, total: int, description: str, stream=None, width=24,
                 *, first: int = 0, after: Optional[int] = None,
                 clock: Callable[[], float] = time.perf_counter):
        self.total, self.description, self.width = total, description, width
        self.first, self.after, self.clock = first, after, clock
        self.stream = stream or sys.stderr
        self.interactive = getattr(self.stream, "isatty", lambda: False)()
        self.start = clock()
        self._drawn = 0  # the longest line drawn: a shorter one must cover it

    def text(self, done: int, metrics: dict[str, float]) -> str:
        """The line drawn for ``done`` steps with ``metrics``."""
        fraction = done / max(self.total, 1)
        filled = int(round(self.width * fraction))
        elapsed = self.clock() - self.start
        parts = [f"{self.description} [{'#' * filled}"
                 f"{'.' * (self.width - filled)}] {done}/{self.total}",
                 format_duration(elapsed)]
        timed = done - self.first
        if timed > 0:
            per_step = elapsed / timed
            left = max(self.total - done, 0) * per_step
            eta = f"eta {format_duration(left)}"
            if self.after is not None:
                eta += f", run {format_duration(left + self.after * per_step)}"
            parts.append(eta)
        parts.extend(f"{k} {v:.4g}" for k, v in metrics.items())
        return " ".join(parts)

    def update(self, done: int, metrics: dict[str, float]) -> None:
        """Draws the line for ``done`` steps (a new line off a TTY)."""
        line = self.text(done, metrics)
        if self.interactive:
            line = line[:200]
            self._drawn = max(self._drawn, len(line))
            self.stream.write("\r" + line.ljust(self._drawn))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Ends the line on a TTY."""
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()


def throttled(bar: ProgressBar,
              updates: int = 50) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` that redraws ``bar`` about ``updates`` times."""
    last = [-1]

    def progress(done: int, total: int) -> None:
        step = updates * done // max(total, 1)
        if step != last[0]:
            last[0] = step
            bar.update(done, {})

    return progress
