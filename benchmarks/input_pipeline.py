"""Images/s delivered by the input pipeline alone, against the training step.

For each dataset: the tf.data pipeline (seeded order, parallel loading or
decoding, prefetch) is iterated on its own for a few seconds, and the
trainer's step is timed on the same batch size (plain tf.function, stage L).
The goal is pipeline >= 10 x step, so training never waits on input.

    python benchmarks/input_pipeline.py [--datasets=dsprites,3dshapes,celeba,mnist]

dSprites and 3D Shapes use the embedded procedural generators (as training
does without the files); CelebA decodes a temporary folder of synthetic
178 x 218 JPEGs; MNIST uses synthetic digits in memory.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from train_throughput import measure  # noqa: E402  (benchmarks/ sibling)

from provlae_tf.data import (celeba, dsprites, mnist, pipeline,  # noqa: E402
                             shapes3d)
from provlae_tf.data.sources import ArraySource  # noqa: E402
from provlae_tf.random_streams import epoch_order  # noqa: E402

# dataset: (architecture, z_dim, batch, stages)
MODELS = {"dsprites": ("small", 2, 128, 3), "3dshapes": ("small", 3, 100, 3),
          "celeba": ("celeba", 7, 128, 4), "mnist": ("small", 2, 128, 3)}


def make_source(name: str, workdir: str):
    if name == "dsprites":
        return dsprites.ProceduralDSprites()
    if name == "3dshapes":
        return shapes3d.ProceduralShapes3D()
    if name == "mnist":
        digits = np.random.default_rng(0).integers(0, 256, (60000, 28, 28),
                                                   dtype=np.uint8)
        return ArraySource("mnist", mnist.mnist_to_64(digits), 255)
    from PIL import Image
    folder = os.path.join(workdir, "celeba")
    os.makedirs(folder)
    rng = np.random.default_rng(0)
    for i in range(512):
        pixels = rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(os.path.join(folder, f"{i + 1:06d}.jpg"),
                                     quality=90)
    return celeba.CelebAFolder(folder)


def pipeline_rate(source, batch: int, seconds: float) -> float:
    order = epoch_order(0, 1, 0, source.num_examples)
    while len(order) < 200 * batch:  # small folders: repeat the order
        order = np.concatenate([order, order])
    batches = iter(pipeline.batches(source, order, batch).repeat())
    next(batches)  # start the workers
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        next(batches)
        n += batch
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="dsprites,3dshapes,celeba,mnist")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(f"{'dataset':9} {'batch':>5} {'pipeline img/s':>15} "
          f"{'train step img/s':>17} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.datasets.split(","):
            arch, z_dim, batch, stages = MODELS[name]
            source = make_source(name, workdir)
            fed = pipeline_rate(source, batch, args.seconds)
            step = measure(arch, source.image_shape[-1], z_dim, batch, stages,
                           False, windows=3, window_s=3.0)
            print(f"{name:9} {batch:5d} {fed:15.0f} {step:17.1f} "
                  f"{fed / step:6.1f}", flush=True)


if __name__ == "__main__":
    main()
