"""The progress bar's time left: arithmetic, formatting and text, with an
injected clock (nothing real is timed)."""

import io

import pytest

from provlae_tf.progress import ProgressBar, format_duration, steps_after_epoch


@pytest.mark.parametrize("seconds,text", [
    (0, "0s"), (-3, "0s"), (42.9, "42s"), (59.99, "59s"), (60, "1m00s"),
    (192, "3m12s"), (3599, "59m59s"), (3600, "1h00m"),
    (21 * 3600 + 4 * 60 + 59, "21h04m"), (86399, "23h59m"),
    (86400, "1d00h"), (2 * 86400 + 3 * 3600 + 59 * 60, "2d03h"),
])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_steps_after_an_epoch_resumed_mid_stage():
    # Stage 2 of 1..3, epoch index 1 of 3: one more epoch of stage 2, then
    # stage 3's three; 10 steps each.
    assert steps_after_epoch([1, 2, 3], 2, 1, 3, 10) == (1 + 3) * 10
    # The first epoch of a whole run: the rest of stage 1 and two stages.
    assert steps_after_epoch([1, 2, 3], 1, 0, 2, 5) == (1 + 2 * 2) * 5
    # The last epoch of the last stage, and of a one-stage command.
    assert steps_after_epoch([1, 2, 3], 3, 2, 3, 10) == 0
    assert steps_after_epoch([2], 2, 0, 3, 7) == 2 * 7


class Clock:
    """Returns the times it is given, one per call."""

    def __init__(self, *times):
        self.times = list(times)

    def __call__(self):
        return self.times.pop(0)


def test_bar_text_counts_only_the_steps_done_now():
    # Resumed at step 40 of 100; 30 steps done in 30 s: 1 s a step, 30 steps
    # left in the epoch and 1000 after it. Counting the 40 restored steps
    # as done would give 30 * 30 / 70 s, "eta 12s".
    bar = ProgressBar(100, "stage 2 epoch 2/3", stream=io.StringIO(),
                      first=40, after=1000, clock=Clock(100.0, 130.0))
    assert bar.text(70, {"recon": 12.5, "kl": 3.25}) == (
        "stage 2 epoch 2/3 [" + "#" * 17 + "." * 7 + "] 70/100 30s "
        "eta 30s, run 17m10s recon 12.5 kl 3.25")


def test_bar_text_before_any_step_and_without_a_run():
    bar = ProgressBar(8, "encode", stream=io.StringIO(), width=4, first=2,
                      clock=Clock(0.0, 5.0, 9.0))
    assert bar.text(2, {}) == "encode [#...] 2/8 5s"  # no speed yet
    # 2 steps in 9 s, 4 left; an evaluation bar has no run to time.
    assert bar.text(4, {}) == "encode [##..] 4/8 9s eta 18s"


def test_written_lines_off_and_on_a_tty():
    plain = io.StringIO()
    bar = ProgressBar(4, "x", stream=plain, width=4,
                      clock=Clock(0.0, 3.0, 4.0))
    bar.update(1, {"a": 1.0})
    bar.update(4, {})
    bar.close()
    assert plain.getvalue() == ("x [#...] 1/4 3s eta 9s a 1\n"
                                "x [####] 4/4 4s eta 0s\n")

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    bar = ProgressBar(4, "x", stream=tty, width=4,
                      clock=Clock(0.0, 3.0, 4.0))
    bar.update(1, {"a": 1.0})
    bar.update(4, {})  # shorter: blanks cover the rest of the longer line
    bar.close()
    first = "x [#...] 1/4 3s eta 9s a 1"
    second = "x [####] 4/4 4s eta 0s"
    assert tty.getvalue() == ("\r" + first + "\r"
                              + second.ljust(len(first)) + "\n")
