"""Draws a montage of the procedural 3D Shapes and measures rendering speed.

One row per factor, in ``FACTOR_NAMES`` order, sweeping that factor over 10
columns from a base configuration (the other factors fixed); factors with
fewer than 10 classes repeat classes, those with more skip some. Run from the
repository root:

    .venv/bin/python benchmarks/shapes3d_montage.py --out /tmp/montage.png
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
from provlae_tf.data import shapes3d  # noqa: E402

COLUMNS = 10
# Orange floor, sky-blue wall, green object, mid scale, cube, orientation 0.
BASE = (1, 5, 3, 4, 0, 7)


def montage_classes() -> np.ndarray:
    """Factor classes ``(6 * COLUMNS, 6)`` of the montage, row by row."""
    rows = []
    for column, size in enumerate(shapes3d.FACTOR_SIZES):
        row = np.tile(BASE, (COLUMNS, 1))
        row[:, column] = np.arange(COLUMNS) * (size - 1) // (COLUMNS - 1)
        rows.append(row)
    return np.concatenate(rows)


def tile(images: np.ndarray, columns: int) -> np.ndarray:
    """Tiles uint8 ``(n, H, W, 3)`` images into a grid, 1 px grey gaps."""
    n, h, w, c = images.shape
    rows = n // columns
    grid = np.full((rows * (h + 1) + 1, columns * (w + 1) + 1, c), 128,
                   np.uint8)
    for k, image in enumerate(images):
        r, col = divmod(k, columns)
        grid[1 + r * (h + 1):(r + 1) * (h + 1),
             1 + col * (w + 1):(col + 1) * (w + 1)] = image
    return grid


def images_per_second(source: shapes3d.ProceduralShapes3D, batch: int,
                      seconds: float = 2.0) -> float:
    """Random-batch throughput of ``source.images`` once tables exist."""
    rng = np.random.default_rng(0)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        source.images(rng.integers(0, shapes3d.NUM_IMAGES, batch))
        count += batch
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/shapes3d_montage.png")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--scale", type=int, default=2,
                        help="Enlarge the PNG by this integer factor.")
    args = parser.parse_args()

    source = shapes3d.ProceduralShapes3D()
    start = time.perf_counter()
    images = source.images(shapes3d.index_from_classes(montage_classes()))
    print(f"montage (incl. building its tables): "
          f"{time.perf_counter() - start:.2f} s")
    grid = tile(images, COLUMNS).repeat(args.scale, 0).repeat(args.scale, 1)
    plt.imsave(args.out, grid)
    print(f"wrote {args.out}")
    start = time.perf_counter()
    source.images(np.arange(0, shapes3d.NUM_IMAGES, 15) + np.arange(
        shapes3d.NUM_IMAGES // 15) % 15)  # Every geometry.
    print(f"building all tables: {time.perf_counter() - start:.2f} s")
    rate = images_per_second(source, args.batch)
    print(f"images(): {rate:,.0f} images/s (batch {args.batch})")


if __name__ == "__main__":
    main()
