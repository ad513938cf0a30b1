"""Runs the original code in a child process and talks to it.

The child (``python -m provlae_tf.compare.original_server``) imports the
original's model module under ``tf.compat.v1``, which replaces the
``tensorflow`` module of its process: that must never happen in a process
that runs our code, hence a process of its own. It reads one JSON command
per line on stdin and answers one JSON line on stdout; arrays travel as
``.npz`` files in a working directory. Commands are answered in order, so a
caller may send several and collect the answers later while it computes our
side (:meth:`OriginalProcess.submit`, :meth:`OriginalProcess.result`).

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Optional

from provlae_tf.errors import UserError

# The original repository's model modules, by architecture.
MODULES = {"small": "model_ladder_progress", "celeba": "model_ladder_pro_celbA"}
ORIGINAL_REPOSITORY = "github.com/Zhiyuan1991/proVLAE"
_CHILD = "provlae_tf.compare.original_server"
_LOG_LINES = 12  # of the child's log, shown when it fails unexpectedly


class OriginalFailed(RuntimeError):
    """The child process failed in a way no user input explains (a bug,
    a crash); the message holds the end of its log."""


def check_original_code(directory: str, architectures=tuple(MODULES)) -> None:
    """Refuses a ``--original_code`` that is not the original repository,
    without importing anything (so the check costs nothing).

    Raises:
        UserError: one line naming what is missing.
    """
    flag = f"--original_code={directory}"
    if not directory:
        raise UserError("--original_code: required; give the directory of a "
                        f"checkout of the original code ({ORIGINAL_REPOSITORY})"
                        ".")
    if not os.path.isdir(directory):
        raise UserError(f"{flag}: no such directory; expected a checkout of "
                        f"the original pro-VLAE code ({ORIGINAL_REPOSITORY}).")
    for architecture in architectures:
        path = os.path.join(directory, MODULES[architecture] + ".py")
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                defines = "class VAE_ladder" in f.read()
        except OSError:
            defines = None
        if not defines:
            what = "no" if defines is None else "a"
            tail = "" if defines is None else " without a VAE_ladder class"
            raise UserError(
                f"{flag}: {what} {MODULES[architecture]}.py{tail}; expected a "
                f"checkout of the original pro-VLAE code "
                f"({ORIGINAL_REPOSITORY}).")


def child_environment(**extra: str) -> dict:
    """The child's environment: this one, with our package importable and
    the same CPU kernels as this process."""
    import provlae_tf
    root = os.path.dirname(os.path.dirname(os.path.abspath(
        provlae_tf.__file__)))
    path = os.environ.get("PYTHONPATH", "")
    env = {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path
                                                 else "")}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.update(extra)
    return env


class OriginalProcess:
    """A child process holding the original code; a context manager.

    Args:
        original_code: the original repository's directory.
        workdir: an existing directory for the child's log and arrays.
        env: extra environment variables (e.g. ``TF_ENABLE_ONEDNN_OPTS``).
    """

    def __init__(self, original_code: str, workdir: str,
                 env: Optional[dict] = None):
        self.original_code = os.path.abspath(original_code)
        self.workdir = workdir
        self.log_path = os.path.join(workdir, "original.log")
        self._log = open(self.log_path, "wb")
        self._pending = 0
        self._process = subprocess.Popen(
            [sys.executable, "-m", _CHILD], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._log,
            env=child_environment(**(env or {})))

    def __enter__(self) -> "OriginalProcess":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None:  # its queued work is no longer wanted
            self._process.kill()
        self.close()

    def submit(self, command: str, **arguments) -> None:
        """Sends a command without waiting for its answer."""
        line = json.dumps({"cmd": command, **arguments}) + "\n"
        try:
            self._process.stdin.write(line.encode())
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._crashed() from None
        self._pending += 1

    def result(self) -> dict:
        """The answer to the oldest command not yet collected.

        Raises:
            UserError: the original code refused (e.g. it cannot be
                imported, or the checkpoint does not fit its graph).
            OriginalFailed: the child failed unexpectedly.
        """
        if not self._pending:
            raise RuntimeError("no command is waiting for an answer")
        line = self._process.stdout.readline()
        self._pending -= 1
        if not line:
            raise self._crashed()
        answer = json.loads(line)
        if answer.get("ok"):
            return answer
        if answer.get("kind") == "user":
            raise UserError(answer["error"])
        raise OriginalFailed(f"the original code's process failed: "
                             f"{answer['error']}\n{self._log_tail()}")

    def call(self, command: str, **arguments) -> dict:
        """Sends a command and waits for its answer (after any pending)."""
        self.submit(command, **arguments)
        while self._pending > 1:
            self.result()
        return self.result()

    def close(self) -> None:
        """Asks the child to exit and waits for it."""
        if self._process.poll() is None:
            try:
                self._process.stdin.write(b'{"cmd": "quit"}\n')
                self._process.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            if stream and not stream.closed:
                stream.close()
        self._log.close()

    def _crashed(self) -> OriginalFailed:
        code = self._process.wait()
        return OriginalFailed(f"the original code's process exited with "
                              f"status {code}\n{self._log_tail()}")

    def _log_tail(self) -> str:
        self._log.flush()
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                lines = [l.rstrip() for l in f if l.strip()]
        except OSError:
            return ""
        return "\n".join(lines[-_LOG_LINES:])
