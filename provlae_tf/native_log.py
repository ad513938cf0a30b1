"""TensorFlow's native start-up lines, shown as TF_CPP_MIN_LOG_LEVEL says.

TensorFlow 2.21 writes a few lines before it reads TF_CPP_MIN_LOG_LEVEL
(its libraries' static initialisers: the oneDNN notice, "Could not find
cuda drivers", each with absl's note that logging is not initialised yet,
once per copy of its logging library), and on a machine without an NVIDIA
driver an ERROR "failed call to cuInit: ... (303)" that only says there is
no driver: about eight lines before a command's first, the last of them
reading like a failure. :func:`quiet_tensorflow_startup`, called by the
command lines before TensorFlow loads, sends TensorFlow's stderr through
:func:`_shown` while it loads and lists its devices: the level applies to
those early lines too, the no-driver cuInit line counts as INFO, and where
a driver is installed "GPU will not be used" counts as an ERROR. Every
other line, and every device, stays as TensorFlow has it; errors always
show, and TF_CPP_MIN_LOG_LEVEL=0 shows everything. The library alone never
filters (importing provlae_tf only sets the variable's default).
"""

from __future__ import annotations

import contextlib
import glob
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import signal
import subprocess
import sys


def _min_log_level() -> int:
    """TF_CPP_MIN_LOG_LEVEL as TensorFlow reads it (not a number: 0)."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def _has_nvidia_driver() -> bool:
    """Whether an NVIDIA driver is installed (Linux, or WSL's GPU device)."""
    return (os.path.exists("/proc/driver/nvidia/version")
            or bool(glob.glob("/dev/nvidia*")) or os.path.exists("/dev/dxg"))


# "I0000 00:00:1796623801.160530   15408 port.cc:153] ..." (the seconds
# count from the epoch while absl's logging is not initialised).
_NATIVE_LINE = re.compile(rb"([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\]]*\] ")
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}
_ABSL_NOTE = (b"WARNING: All log messages before absl::InitializeLog() is "
              b"called are written to STDERR")


def _shown(line: bytes, level: int, driver: bool) -> bool:
    """Whether TensorFlow would show ``line`` at ``level`` had it read the
    level in time (other lines: always)."""
    if line.rstrip(b"\r\n") == _ABSL_NOTE:
        return level < 1
    native = _NATIVE_LINE.match(line)
    if native is None:
        return True
    severity = _SEVERITY[native.group(1)]
    if (not driver and b"failed call to cuInit" in line
            and b"(303)" in line):
        severity = 0
    elif driver and b"GPU will not be used" in line:
        severity = max(severity, 2)  # a GPU is there: say it goes unused
    return severity >= level


def _forward(level: int, driver: bool) -> None:
    """The filter process: stdin's lines that :func:`_shown` keeps, to
    stdout (the parent's stderr), each at once."""
    # Ctrl-C reaches the whole process group: keep forwarding until the
    # parent's end of the pipe closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for line in sys.stdin.buffer:
        if _shown(line, level, driver):
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()


@contextlib.contextmanager
def _filtered_stderr(level: int):
    """File descriptor 2 through :func:`_shown`, line by line.

    A separate process filters, so that lines written just before this one
    dies (a fatal error while TensorFlow loads, such as missing CPU
    instructions) still come out. Without a stderr or a way to start that
    process, nothing is filtered.
    """
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(
        __file__)))
    try:
        os.fstat(2)  # open (else os.pipe could return 2 itself)
        if sys.stderr is not None:
            sys.stderr.flush()
        read, write = os.pipe()
    except (OSError, ValueError):
        yield
        return
    try:
        child = subprocess.Popen(
            [sys.executable, "-S", "-c",
             f"from provlae_tf import native_log; native_log._forward("
             f"{level}, {_has_nvidia_driver()})"],
            stdin=read, stdout=2,
            env={**os.environ, "PYTHONPATH": package_parent})
    except (OSError, ValueError, TypeError):  # TypeError: no sys.executable
        child = None
    finally:
        os.close(read)
    if child is None:
        os.close(write)
        yield
        return
    saved = os.dup(2)
    os.dup2(write, 2)
    os.close(write)
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            if sys.stderr is not None:
                sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe: the filter ends
        os.close(saved)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=10)  # its lines before ours


class _QuietLoader(importlib.machinery.SourceFileLoader):
    """Loads ``tensorflow`` (and lists its devices) through the filter."""

    def exec_module(self, module) -> None:
        with _filtered_stderr(_min_log_level()):
            super().exec_module(module)
            if not _has_nvidia_driver():
                # cuInit's line comes when devices are first listed. Listing
                # does not start the runtime: device options (memory growth,
                # logical CPUs) can still be set afterwards.
                with contextlib.suppress(Exception):  # it fails again later
                    module.config.list_physical_devices()


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Hands the first ``import tensorflow`` to :class:`_QuietLoader`."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)  # once
        spec = importlib.util.find_spec(name)
        if spec is not None and \
                type(spec.loader) is importlib.machinery.SourceFileLoader:
            spec.loader = _QuietLoader(spec.loader.name, spec.loader.path)
        return spec


def quiet_tensorflow_startup() -> None:
    """Filters the lines the next ``import tensorflow`` prints before it
    reads TF_CPP_MIN_LOG_LEVEL (see the module's docstring). For the
    command lines: call it before anything imports TensorFlow."""
    if _min_log_level() > 0 and "tensorflow" not in sys.modules and not any(
            isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())
