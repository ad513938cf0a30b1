"""Checks shared by the loaders of real dataset files, and their messages.

Every loader (:mod:`~provlae_tf.data.dsprites_npz`,
:mod:`~provlae_tf.data.shapes3d_h5`, :mod:`~provlae_tf.data.mnist`,
:mod:`~provlae_tf.data.celeba`) returns an
:class:`~provlae_tf.data.base.ImageSource` of uint8 images; floats exist only
per batch. Layouts are the publishers' (see ``data/README.md``).

A file that cannot be used (missing array, wrong dtype or shape, no images,
non-finite labels, truncated, corrupt, or not that format at all) raises
:class:`~provlae_tf.errors.UserError` with one line naming the file, what
was expected and what to do; never another exception type.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib

import numpy as np

from provlae_tf.errors import UserError

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # an npz is a zip archive
# What reading a damaged npz (zip of .npy) file can raise.
_NPZ_ERRORS = (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile,
               zlib.error, struct.error, NotImplementedError, RuntimeError,
               OverflowError, MemoryError)


def bad_file(path: str, what: str, hint: str = "") -> UserError:
    """The one-line error for ``path``: what is wrong, then what to do."""
    return UserError(f"{path}: {what}.{' ' + hint if hint else ''}")


def reason(error: BaseException) -> str:
    """An exception as one short line, for the end of a message."""
    text = " ".join(str(error).split()) or "no details"
    if len(text) > 160:
        text = text[:157] + "..."
    kind = type(error).__name__
    if kind == "error":  # zlib.error, struct.error: name the module
        kind = f"{type(error).__module__}.{kind}"
    return f"{kind}: {text}"


def describe(array) -> str:
    """An array's dtype and shape, or what it is when not an array."""
    if not isinstance(array, np.ndarray):
        return f"not an array ({type(array).__name__})"
    return f"{array.dtype} {array.shape}"


def check_file(path: str, hint: str) -> None:
    """A folder where the file belongs gets its own message."""
    if os.path.isdir(path):
        raise bad_file(path, "a folder, expected a file", hint)


def read_npz(path: str, names: tuple[str, ...], hint: str) -> dict:
    """The arrays ``names`` present in an npz archive, never unpickling.

    Missing names are left out of the result; the caller decides which are
    required.
    """
    check_file(path, hint)
    try:
        with open(path, "rb") as f:
            head = f.read(6)
        # Checked here: np.load would take any other file for a pickle.
        if head.startswith(b"\x93NUMPY"):
            raise bad_file(path, "a single .npy array, not an npz archive",
                           hint)
        if not head.startswith(_ZIP_MAGIC):
            what = "an empty file" if not head else "not an npz (zip) archive"
            raise bad_file(path, what, hint)
        archive = np.load(path, allow_pickle=False)
        with archive:
            return {name: archive[name] for name in names
                    if name in archive.files}
    except _NPZ_ERRORS as e:
        raise bad_file(path, f"not a readable npz archive ({reason(e)})",
                       hint) from None


def check_finite(path: str, name: str, array, shape: tuple,
                 hint: str) -> None:
    """``array`` must be a real-valued ``shape`` array without NaN or Inf."""
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "fiub" \
            or array.shape != shape:
        raise bad_file(path, f"'{name}' is {describe(array)}, expected "
                       f"numbers {shape}", hint)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise bad_file(path, f"'{name}' holds NaN or infinite values", hint)
