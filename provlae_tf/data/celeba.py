"""CelebA: aligned-and-cropped images streamed from a folder.

Errors follow :mod:`provlae_tf.data.file_checks`: one line naming the file.
"""

from __future__ import annotations

import io
import os

import numpy as np

from provlae_tf.data.base import ImageSource
from provlae_tf.data.file_checks import bad_file, reason
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
_PNG_END = b"IEND\xaeB`\x82"  # a PNG's last chunk: type and CRC

CELEBA_HINT = ("Expected CelebA's aligned-and-cropped 178 x 218 images; "
               "replace or remove it.")


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
        raise bad_file(folder, f"unreadable folder ({reason(e)})",
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
                raise bad_file(path, "an empty file", CELEBA_HINT)
            with Image.open(io.BytesIO(data)) as image:
                if image.size != CELEBA_SIZE:
                    raise bad_file(path, f"a {image.size[0]} x "
                                   f"{image.size[1]} image", CELEBA_HINT)
                # Pillow decodes a PNG cut after its pixel data without a
                # word; a whole PNG ends with its IEND chunk.
                if image.format == "PNG" and not data.endswith(_PNG_END):
                    raise bad_file(path, "a truncated PNG file (no IEND chunk "
                                   "at the end)", CELEBA_HINT)
                image = image.convert("RGB").crop(CELEBA_CROP)
                image = image.resize((64, 64), Image.Resampling.LANCZOS)
                return np.asarray(image, np.uint8)
        except UserError:
            raise
        except UnidentifiedImageError:
            raise bad_file(path, "unreadable or corrupt image (in no format "
                           "Pillow knows)", CELEBA_HINT) from None
        except Exception as e:  # noqa: BLE001 - Pillow's decoders raise
            # OSError, SyntaxError, struct.error, zlib.error, ... on bad data.
            raise bad_file(path, f"unreadable or corrupt image ({reason(e)})",
                           CELEBA_HINT) from None


# The registry's entry point (provlae_tf.datasets: this dataset's loader).
load = load_celeba
