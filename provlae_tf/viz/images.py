"""Image grids and PNG / GIF files, written with Pillow.

Every image here is a float array ``(H, W, C)`` with C = 1 (grey) or 3
(colour), intended range [0, 1]. Values outside are clipped before writing.
Grey images are written as Pillow mode ``"L"``, colour as ``"RGB"``. Files are
written to a temporary name in the same folder and renamed into place, so an
interrupted run never leaves a truncated PNG or GIF behind.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from provlae_tf.fileio import atomic_save


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Clips a float image to [0, 1] and scales it to uint8 (rounded)."""
    image = np.clip(np.asarray(image, np.float64), 0.0, 1.0)
    return np.rint(image * 255.0).astype(np.uint8)


def to_pil(image: np.ndarray) -> Image.Image:
    """A float ``(H, W, C)`` or ``(H, W)`` image as a Pillow L/RGB image."""
    pixels = to_uint8(image)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim == 2:
        return Image.fromarray(pixels, mode="L")
    if pixels.ndim == 3 and pixels.shape[-1] == 3:
        return Image.fromarray(pixels, mode="RGB")
    raise ValueError(f"expected an (H, W), (H, W, 1) or (H, W, 3) image, got "
                     f"shape {np.shape(image)}")


def grid(images: np.ndarray, rows: int, cols: int, pad: int = 2,
         pad_value: float = 1.0) -> np.ndarray:
    """Tiles images row by row into one image.

    Args:
        images: float ``(n, H, W, C)`` with ``n <= rows * cols``; empty cells
            are filled with ``pad_value``.
        rows, cols: grid shape.
        pad: pixels of ``pad_value`` between cells and around the border.
        pad_value: the padding intensity (1.0 = white).

    Returns:
        float ``(rows*H + (rows+1)*pad, cols*W + (cols+1)*pad, C)``.
    """
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise ValueError(f"expected (n, H, W, C) images, got {images.shape}")
    n, h, w, c = images.shape
    if n > rows * cols:
        raise ValueError(f"{n} images do not fit a {rows}x{cols} grid")
    out = np.full((rows * h + (rows + 1) * pad,
                   cols * w + (cols + 1) * pad, c), pad_value, np.float32)
    for i in range(n):
        top = pad + (i // cols) * (h + pad)
        left = pad + (i % cols) * (w + pad)
        out[top:top + h, left:left + w] = images[i]
    return out


def label_column(labels: Sequence[str], cell_height: int, pad: int,
                 width: int, channels: int) -> np.ndarray:
    """A white column with one black text label centred on each grid row.

    Its height matches :func:`grid` with ``len(labels)`` rows of
    ``cell_height`` and the same ``pad``, so it can be put left of it.
    """
    height = len(labels) * cell_height + (len(labels) + 1) * pad
    canvas = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    for i, text in enumerate(labels):
        centre = pad + i * (cell_height + pad) + cell_height // 2
        draw.text((2, centre), text, fill=0, font=font, anchor="lm")
    column = np.asarray(canvas, np.float32)[..., None] / 255.0
    return np.repeat(column, channels, axis=-1)


def position_bar(width: int, index: int, count: int, height: int = 4,
                 channels: int = 1) -> np.ndarray:
    """A strip marking frame ``index`` of ``count`` (dark cell on light grey).

    GIF frames carry it so a viewer sees where the sweep is, and so that no
    two frames are identical: Pillow merges identical consecutive frames,
    which would change the frame count (e.g. for an inactive ladder).
    """
    bar = np.full((height, width, channels), 0.85, np.float32)
    edges = np.linspace(0, width, count + 1).round().astype(int)
    bar[:, edges[index]:edges[index + 1]] = 0.0
    return bar


def save_png(path: str, image: np.ndarray) -> str:
    """Writes a float image (clipped to [0, 1]) as PNG; returns ``path``."""
    picture = to_pil(image)
    return atomic_save(path, lambda p: picture.save(p, format="PNG"))


def save_gif(path: str, frames: Sequence[np.ndarray], duration_ms: int = 200,
             loop: int = 0, mark_position: bool = True) -> str:
    """Writes float frames (clipped to [0, 1]) as an animated GIF.

    Args:
        path: output file.
        frames: float images of one shape ``(H, W, C)``.
        duration_ms: display time of each frame.
        loop: GIF loop count, 0 = forever.
        mark_position: append a :func:`position_bar` under each frame. It
            keeps frames distinct, so the file has exactly ``len(frames)``
            frames; without it Pillow merges identical consecutive frames.

    Returns:
        ``path``.
    """
    frames = [np.asarray(f, np.float32) for f in frames]
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    if mark_position:
        frames = [np.concatenate([f, position_bar(f.shape[1], i, len(frames),
                                                  channels=f.shape[2])])
                  for i, f in enumerate(frames)]
    pictures = [to_pil(f) for f in frames]

    def save(temp: str) -> None:
        pictures[0].save(temp, format="GIF", save_all=True,
                         append_images=pictures[1:], duration=duration_ms,
                         loop=loop)

    return atomic_save(path, save)


def hstack(images: Sequence[np.ndarray]) -> np.ndarray:
    """Puts float images of the same height and channels side by side."""
    return np.concatenate([np.asarray(i, np.float32) for i in images], axis=1)
