"""Training throughput (images/s) per stage: plain tf.function versus XLA.

Measures the trainer's own ``train_step`` on a fixed in-memory batch (the
input pipeline is benchmarked apart), for the small model at batch 128 and
the CelebA model at batch 64: after warm-up, the median of 5 windows of 4 s.

    python benchmarks/train_throughput.py                 # tf-keras (default)
    python benchmarks/train_throughput.py --keras=keras3  # same code on Keras 3

``--keras=keras3`` runs the package with the Keras 3 that TensorFlow ships,
by aliasing the module in this benchmark process only, to compare the two.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time


def _select_keras(which: str) -> None:
    if which == "keras3":
        import keras  # Keras 3
        sys.modules["tf_keras"] = keras


def measure(architecture: str, channels: int, z_dim: int, batch: int,
            stage: int, xla: bool, windows: int, window_s: float) -> float:
    """Median images/s of ``windows`` windows of ``window_s`` seconds."""
    import numpy as np
    import tensorflow as tf

    from provlae_tf.config import RunConfig, TrainConfig
    from provlae_tf.data.sources import ArraySource
    from provlae_tf.model.ladder import ModelConfig
    from provlae_tf.train.progress import RunLog
    from provlae_tf.train.trainer import Trainer

    rng = np.random.default_rng(0)
    images = (rng.random((batch, 64, 64, channels)) * 255).astype(np.uint8)
    with tempfile.TemporaryDirectory() as run_dir:
        config = RunConfig(run_dir, model=ModelConfig(architecture, z_dim,
                                                      channels),
                           train=TrainConfig(batch_size=batch, xla=xla))
        trainer = Trainer(config, ArraySource("bench", images, 255),
                          log=RunLog(run_dir, "bench.log", quiet=True))
        x = tf.constant(images)
        alpha = tf.constant(0.5)

        def step(i):
            return trainer.train_step(x, alpha, tf.constant(i, tf.int64), stage)

        for i in range(3):  # trace, compile, warm caches
            float(step(i).total)
        rates, i = [], 3
        for _ in range(windows):
            start, n = time.perf_counter(), 0
            while time.perf_counter() - start < window_s:
                losses = step(i)
                i, n = i + 1, n + 1
            float(losses.total)  # wait for the device
            rates.append(n * batch / (time.perf_counter() - start))
        return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras", choices=("tf_keras", "keras3"),
                        default="tf_keras")
    parser.add_argument("--models", default="small,celeba")
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--window_s", type=float, default=4.0)
    args = parser.parse_args()
    _select_keras(args.keras)
    import tensorflow as tf
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"keras={args.keras} device={device} "
          f"windows={args.windows}x{args.window_s}s (median)")
    print(f"{'model':8} {'batch':>5} {'stage':>5} {'plain img/s':>12} "
          f"{'XLA img/s':>10} {'XLA/plain':>9}")
    setups = {"small": ("small", 1, 2, 128, 3), "celeba": ("celeba", 3, 7, 64, 4)}
    for name in args.models.split(","):
        arch, channels, z_dim, batch, num_stages = setups[name]
        for stage in range(1, num_stages + 1):
            plain, fast = (measure(arch, channels, z_dim, batch, stage, xla,
                                   args.windows, args.window_s)
                           for xla in (False, True))
            print(f"{name:8} {batch:5d} {stage:5d} {plain:12.1f} {fast:10.1f} "
                  f"{fast / plain:9.2f}", flush=True)


if __name__ == "__main__":
    main()
