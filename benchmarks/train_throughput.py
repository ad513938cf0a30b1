"""Training throughput (images/s) per stage: plain tf.function versus XLA.

Measures the trainer's own ``train_step`` on a fixed in-memory batch (the
input pipeline is benchmarked apart), for the small model at batch 128 and
the CelebA model at batch 64: after warm-up, the median of 5 windows of 4 s.

    python benchmarks/train_throughput.py                 # tf-keras (default)
    python benchmarks/train_throughput.py --keras=keras3  # same code on Keras 3
    python benchmarks/train_throughput.py --keras=both --models=small

``--keras=keras3`` runs the package with the Keras 3 that TensorFlow ships,
by aliasing the module in this benchmark process only; ``--keras=both`` runs
the two in child processes, stage by stage alternately, and prints the ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time


def _select_keras(which: str) -> None:
    if which == "keras3":
        # TensorFlow Probability needs the real tf-keras: import it first.
        import tensorflow_probability  # noqa: F401
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
    from provlae_tf.train.run_log import RunLog
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


SETUPS = {"small": ("small", 1, 2, 128, 3), "celeba": ("celeba", 3, 7, 64, 4)}


def compare_keras(models: list[str], windows: int, window_s: float) -> None:
    """tf-keras versus Keras 3 (plain tf.function), alternating per stage."""
    print(f"plain tf.function, windows={windows}x{window_s}s (median)")
    print(f"{'model':8} {'stage':>5} {'tf_keras':>9} {'keras3':>9} "
          f"{'tf_keras/keras3':>15}")
    for name in models:
        for stage in range(1, SETUPS[name][4] + 1):
            rates = {}
            for keras in ("tf_keras", "keras3"):
                child = subprocess.run(
                    [sys.executable, __file__, "--keras", keras, "--one",
                     f"{name},{stage}", "--windows", str(windows),
                     "--window_s", str(window_s)],
                    capture_output=True, text=True, check=True)
                rates[keras] = json.loads(child.stdout.splitlines()[-1])
            print(f"{name:8} {stage:5d} {rates['tf_keras']:9.1f} "
                  f"{rates['keras3']:9.1f} "
                  f"{rates['tf_keras'] / rates['keras3']:15.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras", choices=("tf_keras", "keras3", "both"),
                        default="tf_keras")
    parser.add_argument("--models", default="small,celeba")
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--window_s", type=float, default=4.0)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child: "model,stage"
    args = parser.parse_args()
    if args.keras == "both":
        compare_keras(args.models.split(","), args.windows, args.window_s)
        return
    _select_keras(args.keras)
    if args.one:
        name, stage = args.one.split(",")
        arch, channels, z_dim, batch, _ = SETUPS[name]
        print(json.dumps(measure(arch, channels, z_dim, batch, int(stage),
                                 False, args.windows, args.window_s)))
        return
    import tensorflow as tf
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"keras={args.keras} device={device} "
          f"windows={args.windows}x{args.window_s}s (median)")
    print(f"{'model':8} {'batch':>5} {'stage':>5} {'plain img/s':>12} "
          f"{'XLA img/s':>10} {'XLA/plain':>9}")
    for name in args.models.split(","):
        arch, channels, z_dim, batch, num_stages = SETUPS[name]
        for stage in range(1, num_stages + 1):
            plain, fast = (measure(arch, channels, z_dim, batch, stage, xla,
                                   args.windows, args.window_s)
                           for xla in (False, True))
            print(f"{name:8} {batch:5d} {stage:5d} {plain:12.1f} {fast:10.1f} "
                  f"{fast / plain:9.2f}", flush=True)


if __name__ == "__main__":
    main()
