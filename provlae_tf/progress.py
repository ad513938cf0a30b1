"""A one-line progress bar, shared by training and the evaluation modes."""

from __future__ import annotations

import sys
import time
from typing import Callable


class ProgressBar:
    """A one-line progress bar with the latest losses (plain lines off a TTY)."""

    def __init__(self, total: int, description: str, stream=None, width=24):
        self.total, self.description, self.width = total, description, width
        self.stream = stream or sys.stderr
        self.interactive = getattr(self.stream, "isatty", lambda: False)()
        self.start = time.perf_counter()

    def update(self, done: int, metrics: dict[str, float]) -> None:
        fraction = done / max(self.total, 1)
        filled = int(round(self.width * fraction))
        elapsed = time.perf_counter() - self.start
        text = " ".join(f"{k} {v:.4g}" for k, v in metrics.items())
        line = (f"{self.description} [{'#' * filled}{'.' * (self.width - filled)}]"
                f" {done}/{self.total} {elapsed:.0f}s {text}")
        if self.interactive:
            self.stream.write("\r" + line[:200])
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
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
