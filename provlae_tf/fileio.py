"""Writing files so that readers see the old content or the new, never half.

Every file provlae_tf writes outside a checkpoint (config.json, images,
plots, reports, generated datasets) goes through :func:`atomic_save`, so an
interrupted run never leaves a truncated file behind, and a write that fails
(a full disk, a read-only directory) is one clear :class:`UserError` naming
the file, with the old content left in place.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from typing import Callable

from provlae_tf.errors import UserError


def atomic_save(path: str, save: Callable[[str], None]) -> str:
    """Calls ``save(temp_path)``, then renames the temporary file to ``path``.

    The temporary file is a sibling of ``path`` with the same extension (some
    writers choose the format by it); the folder is created if needed, and
    on failure the temporary file is removed and ``path`` left as it was.

    Returns:
        ``path``.

    Raises:
        UserError: the file could not be written (an ``OSError``: no space
            left, permission denied, ...); ``path`` is left as it was.
    """
    folder = os.path.dirname(os.path.abspath(path))
    temp = None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-",
                                    suffix=os.path.splitext(path)[1])
        os.close(fd)
        save(temp)
        # mkstemp makes the file private (0600); give it the mode any new
        # file of this user gets, so results and images stay shareable.
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, path)
    except BaseException as e:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.remove(temp)
        if isinstance(e, OSError) and is_write_error(e):
            raise UserError(
                f"{path}: could not write it ({describe_os_error(e)}); "
                f"nothing was changed. Free disk space or make {folder} "
                "writable, then rerun.") from e
        raise
    return path


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it:
    setting it to read it back would, for a moment, give files that other
    threads (TensorBoard's writer, checkpoint I/O) create a mode of 0666."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0)  # elsewhere: the one portable way
    os.umask(mask)
    return mask


def check_new_directory(out_dir: str) -> None:
    """Refuses an output directory that exists and holds anything (no
    TensorFlow needed, so entry points can check before loading it)."""
    if os.path.exists(out_dir) and (not os.path.isdir(out_dir)
                                    or os.listdir(out_dir)):
        raise UserError(f"{out_dir}: exists and is not empty; choose a new "
                        "output directory.")


def check_writable_directory(directory: str, flag: str = "checkpoint_dir"
                             ) -> None:
    """Refuses a ``--<flag>`` directory that cannot be created or written.

    Never writes, and needs no TensorFlow (an entry point can call it before
    loading anything): the directory itself, or the first existing folder
    above it, must be a directory this user may write to. (The superuser
    passes permission checks; a read-only file system still fails here, and
    anything else at the first write, which :func:`atomic_save` reports.)

    Raises:
        UserError: naming the flag, the offending path and what to do.
    """
    path = os.path.abspath(directory)
    existing = path
    while not os.path.lexists(existing):
        parent = os.path.dirname(existing)
        if parent == existing:
            break
        existing = parent
    here = f"--{flag}={directory}:"
    if not os.path.isdir(existing):
        kind = "a file" if os.path.isfile(existing) else "not a directory"
        where = "it" if existing == path else existing
        raise UserError(f"{here} {where} is {kind}; expected a directory "
                        f"(or a path where one can be created). Choose "
                        f"another --{flag}.")
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "the directory" if existing == path else \
            f"{existing}, where it would be created,"
        raise UserError(f"{here} {where} is not writable by this user; "
                        f"expected a writable directory. Fix its permissions "
                        f"or choose another --{flag}.")


def describe_os_error(error: OSError) -> str:
    """'No space left on device', 'Permission denied', ... for one line."""
    return error.strerror or str(error) or type(error).__name__


def is_write_error(error: OSError) -> bool:
    """Errors of the file system itself (full, read-only, permissions), not
    of what is being read."""
    return error.errno in _WRITE_ERRNOS or isinstance(
        error, (PermissionError, IsADirectoryError, NotADirectoryError))


_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES,
                 errno.EPERM, errno.EFBIG, errno.EIO}


def atomic_write_text(path: str, text: str) -> str:
    """Writes ``text`` to ``path`` atomically; returns ``path``."""
    def save(temp: str) -> None:
        with open(temp, "w") as f:
            f.write(text)

    return atomic_save(path, save)


def save_json(path: str, data: dict) -> str:
    """Writes ``data`` as indented JSON (atomically); returns ``path``."""
    def save(temp: str) -> None:
        with open(temp, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")

    return atomic_save(path, save)


def load_json(path: str) -> dict:
    """Reads a JSON file written by :func:`save_json`."""
    with open(os.fspath(path)) as f:
        return json.load(f)


def load_json_object(path: str, expected: str) -> dict:
    """A JSON object read from ``path``, or one line naming the file.

    Args:
        expected: what the file should be, for the messages ("the record
            that --export_dir writes").

    Raises:
        UserError: unreadable, not JSON, or not a JSON object.
    """
    try:
        data = load_json(path)
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: unreadable ({e}); expected "
                        f"{expected}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: not {expected} (expected a JSON object)")
    return data
