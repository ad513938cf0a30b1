"""Writing files so that readers see the old content or the new, never half.

Every file provlae_tf writes outside a checkpoint (config.json, images,
plots, reports, generated datasets) goes through :func:`atomic_save`, so an
interrupted run never leaves a truncated file behind.
"""

from __future__ import annotations

import os
import tempfile
from typing import Callable


def atomic_save(path: str, save: Callable[[str], None]) -> str:
    """Calls ``save(temp_path)``, then renames the temporary file to ``path``.

    The temporary file is a sibling of ``path`` with the same extension (some
    writers choose the format by it); the folder is created if needed, and
    on failure the temporary file is removed and ``path`` left as it was.

    Returns:
        ``path``.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-",
                                suffix=os.path.splitext(path)[1])
    os.close(fd)
    try:
        save(temp)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise
    return path


def atomic_write_text(path: str, text: str) -> str:
    """Writes ``text`` to ``path`` atomically; returns ``path``."""
    def save(temp: str) -> None:
        with open(temp, "w") as f:
            f.write(text)

    return atomic_save(path, save)
