"""What a user sees on stderr when TensorFlow starts: its C++ INFO lines and
the no-driver cuInit error only when asked (TF_CPP_MIN_LOG_LEVEL), real
errors always.

Two child processes run a command that loads TensorFlow and lists its
devices, then stops (--mode=visualize on an empty directory); the filter's
rule is checked in this process, without TensorFlow.
"""

import os
import re
import subprocess
import sys

import pytest

import provlae_tf  # noqa: F401  (sets the log-level default)
from provlae_tf import native_log
from tests.command_line import REPO

INFO = re.compile(r"^I\d{4} ", re.MULTILINE)


def startup_stderr(tmp_path, **env) -> str:
    """The stderr of a command that stops once TensorFlow has started."""
    base = {k: v for k, v in os.environ.items()
            if k != "TF_CPP_MIN_LOG_LEVEL"}  # conftest's 2: not the user's
    result = subprocess.run(
        [sys.executable, "-m", "provlae_tf.main", "--dataset=dsprites",
         "--mode=visualize", f"--checkpoint_dir={tmp_path}"],
        capture_output=True, text=True, cwd=REPO, timeout=600,
        env={**base, "PYTHONPATH": str(REPO), **env})
    assert result.returncode == 1
    assert "no provlae_tf run or original checkpoint there" in result.stderr
    return result.stderr


def test_no_startup_noise_unless_asked(tmp_path):
    quiet = startup_stderr(tmp_path)
    assert "cuInit" not in quiet
    assert "oneDNN custom operations" not in quiet
    assert "absl::InitializeLog" not in quiet
    assert not INFO.search(quiet)
    assert quiet.startswith("provlae_tf: ")  # our line comes first
    # The user's own level 0: TensorFlow's INFO lines come back (the same
    # command does write them, so the assertions above can fail).
    loud = startup_stderr(tmp_path, TF_CPP_MIN_LOG_LEVEL="0")
    assert INFO.search(loud)


def native(severity: str, text: str) -> bytes:
    return (f"{severity}0000 00:00:1796623801.160530   15408 "
            f"file.cc:12] {text}\n").encode()


CUINIT = native("E", "failed call to cuInit: INTERNAL: CUDA error: Failed "
                     "call to cuInit: UNKNOWN ERROR (303)")
NOTE = (b"WARNING: All log messages before absl::InitializeLog() is called "
        b"are written to STDERR\n")


@pytest.mark.parametrize("line,shown_at_levels", [
    (native("I", "oneDNN custom operations are on."), {0}),
    (native("W", "a warning"), {0, 1}),
    (native("E", "a real error"), {0, 1, 2}),
    (native("F", "a fatal error"), {0, 1, 2, 3}),
    (NOTE, {0}),
    (b"Traceback (most recent call last):\n", {0, 1, 2, 3}),
])
def test_the_level_applies_to_early_lines(line, shown_at_levels):
    for driver in (False, True):
        assert {level for level in range(4) if native_log._shown(
            line, level, driver)} == shown_at_levels


def test_cuinit_error_is_hidden_only_without_a_driver():
    assert {level for level in range(4)
            if native_log._shown(CUINIT, level, False)} == {0}
    assert {level for level in range(4)
            if native_log._shown(CUINIT, level, True)} == {0, 1, 2}
    other = native("E", "failed call to cuInit: CUDA_ERROR_NO_DEVICE: no "
                        "CUDA-capable device is detected")
    assert native_log._shown(other, 2, False)


def test_an_unused_gpu_is_reported_where_a_driver_is_installed():
    line = native("I", "Could not find cuda drivers on your machine, GPU "
                       "will not be used.")
    assert {level for level in range(4)
            if native_log._shown(line, level, False)} == {0}
    assert {level for level in range(4)
            if native_log._shown(line, level, True)} == {0, 1, 2}


def test_filtered_stderr_replays_what_it_shows(capfd):
    with native_log._filtered_stderr(2):
        os.write(2, native("I", "notice") + b"plain\n" + CUINIT
                 + native("E", "real error"))
    err = capfd.readouterr().err
    expected = b"plain\n" + native("E", "real error")
    if native_log._has_nvidia_driver():
        expected = b"plain\n" + CUINIT + native("E", "real error")
    assert err == expected.decode()


def test_lines_before_a_crash_still_come_out():
    # TensorFlow aborts while loading on a CPU without the instructions it
    # was built for: its fatal line must not die with the process.
    program = (
        "import os\nfrom provlae_tf import native_log\n"
        "with native_log._filtered_stderr(2):\n"
        f"    os.write(2, {native('I', 'notice')!r} + "
        f"{native('F', 'missing CPU instructions')!r})\n"
        "    os.abort()\n")
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, timeout=120,
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode != 0
    assert result.stderr == native("F", "missing CPU instructions")
