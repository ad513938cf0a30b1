"""Draws a montage of the procedural dSprites and measures rendering speed.

Rows: for each shape (square, ellipse, heart) one row sweeping scale, one
sweeping orientation over the full circle (the first and last columns are
classes 0 and 39, i.e. 0 and 2 pi) and one moving the sprite diagonally
from bottom left to top right. Run from the repository root:

    .venv/bin/python benchmarks/dsprites_montage.py --out /tmp/montage.png
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

# Run as a script, this file's directory is on sys.path, not the repository.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from provlae_tf.data import dsprites  # noqa: E402

COLUMNS = 10


def montage_classes() -> np.ndarray:
    """Factor classes ``(3 * 3 * COLUMNS, 6)`` of the montage, row by row."""
    rows = []
    steps = np.arange(COLUMNS)
    for shape in range(3):
        base = np.array([0, shape, 5, 0, 16, 16])
        for column, classes in ((2, steps * 5 // 9),  # Scale 0..5.
                                (3, steps * 39 // 9),  # Orientation 0..39.
                                (4, steps * 31 // 9)):  # posX 0..31.
            row = np.tile(base, (COLUMNS, 1))
            row[:, column] = classes
            if column == 4:
                row[:, 5] = 31 - classes  # Move diagonally, up and right.
            rows.append(row)
    return np.concatenate(rows)


def tile(images: np.ndarray, columns: int) -> np.ndarray:
    """Tiles ``(n, H, W)`` images into a grid with 1 px grey separators."""
    n, h, w = images.shape
    rows = n // columns
    grid = np.full((rows * (h + 1) + 1, columns * (w + 1) + 1), 0.5)
    for k, image in enumerate(images):
        r, c = divmod(k, columns)
        grid[1 + r * (h + 1):(r + 1) * (h + 1),
             1 + c * (w + 1):(c + 1) * (w + 1)] = image
    return grid


def images_per_second(source: dsprites.ProceduralDSprites, batch: int,
                      seconds: float = 2.0) -> float:
    """Random-batch throughput of ``source.images`` once templates exist."""
    rng = np.random.default_rng(0)
    source.images(np.arange(0, dsprites.NUM_IMAGES, 1024))  # All templates.
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        source.images(rng.integers(0, dsprites.NUM_IMAGES, batch))
        count += batch
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/dsprites_montage.png")
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()

    source = dsprites.ProceduralDSprites()
    classes = montage_classes()
    start = time.perf_counter()
    images = source.images(dsprites.index_from_classes(classes))[..., 0]
    print(f"montage (incl. building its templates): "
          f"{time.perf_counter() - start:.2f} s")
    plt.imsave(args.out, tile(images, COLUMNS), cmap="gray", vmin=0, vmax=1)
    print(f"wrote {args.out}")
    start = time.perf_counter()
    source.images(np.arange(0, dsprites.NUM_IMAGES, 1024))
    print(f"building all templates: {time.perf_counter() - start:.2f} s")
    rate = images_per_second(source, args.batch)
    print(f"images(): {rate:,.0f} images/s (batch {args.batch})")


if __name__ == "__main__":
    main()
