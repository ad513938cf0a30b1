"""Training throughput (images/s): the exact zero-multiplying path against the
default path that skips it, per model and stage, and the trainer end to end.

Measures the trainer's own ``train_step`` on a fixed in-memory batch (the
input pipeline is benchmarked apart), for the small model at batch 128 and
the CelebA model at batch 64. The two paths run in the same process on
separate trainers, window by window alternately (exact, default, exact, ...),
so that a shared, noisy machine slows both alike; each figure is the median
of the windows, the ratio the median of the paired ratios.

    python benchmarks/train_throughput.py                  # paths + trainer
    python benchmarks/train_throughput.py --models=small --windows=3
    python benchmarks/train_throughput.py --compare=xla    # plain vs XLA
    python benchmarks/train_throughput.py --keras=both --models=small
    python benchmarks/train_throughput.py --strategy=default,mirrored \
        --cpu_devices=2 --models=small       # replicas against default
    python benchmarks/train_throughput.py --compare=precision  # GPU
    python benchmarks/train_throughput.py --compare=kernels    # oneDNN/Eigen

``--strategy=default,mirrored`` runs the step under MirroredStrategy on 1
replica and on every device (GPUs, else the ``--cpu_devices`` logical CPUs),
each alternating with the default one-device step in the same process; it
prints images/s per replica count and the ratio to default (on one
replica, the cost of the strategy itself). The global batch stays the
model's batch.

The trainer section runs ``Trainer.run()`` on the embedded dSprites (batch
128, stage 1, a seeded subset; 3 epochs of 64 steps by default) and
compares its epoch summaries' img/s with step windows of the same trainer
taken just before and after the run.

``--compare=kernels`` runs the default path with oneDNN's CPU kernels (the
package's default) and with TensorFlow's Eigen kernels
(``TF_ENABLE_ONEDNN_OPTS=0``), each in child processes, stage by stage
alternately, and prints the ratio.

``--keras=keras3`` runs the package with the Keras 3 that TensorFlow ships,
by aliasing the module in this benchmark process only; ``--keras=both`` runs
the two in child processes, stage by stage alternately, and prints the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# model: (architecture, channels, z_dim, batch, stages)
SETUPS = {"small": ("small", 1, 2, 128, 3), "celeba": ("celeba", 3, 7, 64, 4)}


def _select_keras(which: str) -> None:
    if which == "keras3":
        # TensorFlow Probability needs the real tf-keras: import it first.
        import tensorflow_probability  # noqa: F401
        import keras  # Keras 3
        sys.modules["tf_keras"] = keras


class StepBench:
    """A trainer's ``train_step`` on a fixed batch.

    Args:
        trainer: the trainer.
        images: the uint8 batch.
    """

    def __init__(self, trainer, images):
        import tensorflow as tf
        self.trainer, self.batch = trainer, len(images)
        self.x = tf.constant(images)
        self.alpha = tf.constant(0.5)
        self.i = 0
        self._dir = None

    @classmethod
    def fresh(cls, name: str, exact: bool = False,
              xla: bool = False) -> "StepBench":
        """A new trainer of :data:`SETUPS` ``name`` in a temporary directory."""
        architecture, channels, z_dim, batch, _ = SETUPS[name]
        return cls.build(architecture, channels, z_dim, batch, exact, xla)

    @classmethod
    def build(cls, architecture: str, channels: int, z_dim: int, batch: int,
              exact: bool = False, xla: bool = False, strategy=None,
              precision: str = "off") -> "StepBench":
        """A new trainer in a temporary directory (under ``strategy``, a
        tf.distribute strategy or None, and a --mixed_precision policy)."""
        import numpy as np

        from provlae_tf.config import (DataConfig, ModelConfig, RunConfig,
                                       TrainConfig)
        from provlae_tf.data.sources import ArraySource
        from provlae_tf.train.run_log import RunLog
        from provlae_tf.train.trainer import Trainer

        rng = np.random.default_rng(0)
        images = (rng.random((batch, 64, 64, channels)) * 255).astype(np.uint8)
        run_dir = tempfile.TemporaryDirectory()
        # A dataset of the images' channels (the config checks that they
        # agree; the images themselves are the random batch above).
        config = RunConfig(
            run_dir.name,
            data=DataConfig("celeba" if channels == 3 else "dsprites"),
            model=ModelConfig(architecture, z_dim, channels),
            train=TrainConfig(batch_size=batch, xla=xla,
                              exact_zero_branches=exact,
                              mixed_precision=precision))
        trainer = Trainer(config, ArraySource("bench", images, 255),
                          log=RunLog(run_dir.name, "bench.log", quiet=True),
                          strategy=strategy)
        bench = cls(trainer, images)
        bench._dir = run_dir
        return bench

    def step(self, stage: int):
        import tensorflow as tf
        self.i += 1
        return self.trainer.train_step(self.x, self.alpha,
                                       tf.constant(self.i, tf.int64), stage)

    def warm(self, stage: int) -> None:
        for _ in range(3):  # trace, compile, warm caches
            float(self.step(stage).total)

    def window(self, stage: int, seconds: float) -> float:
        """Images/s over about ``seconds`` (at least 2 steps)."""
        return self.timed_window(stage, seconds)[0]

    def timed_window(self, stage: int, seconds: float) -> tuple[float, float]:
        """(images/s, process CPU seconds per image) over about ``seconds``."""
        start, cpu, n = time.perf_counter(), time.process_time(), 0
        while n < 2 or time.perf_counter() - start < seconds:
            losses = self.step(stage)
            n += 1
        float(losses.total)  # wait for the device
        images = n * self.batch
        return (images / (time.perf_counter() - start),
                (time.process_time() - cpu) / images)

    def close(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()


def measure(architecture: str, channels: int, z_dim: int, batch: int,
            stage: int, xla: bool, windows: int, window_s: float) -> float:
    """Median images/s of the default path's step (used by
    benchmarks/input_pipeline.py)."""
    bench = StepBench.build(architecture, channels, z_dim, batch, xla=xla)
    try:
        bench.warm(stage)
        return statistics.median(bench.window(stage, window_s)
                                 for _ in range(windows))
    finally:
        bench.close()


def alternate(benches: dict, stage: int, windows: int,
              window_s: float) -> dict:
    """Alternating windows of two benches (first, second), in ABBA order.

    Returns ``{key: median img/s}``, ``"ratio"``: the median over rounds of
    second / first img/s, and ``"cpu_ratio"``: first / second median CPU
    seconds per image (process CPU time, which other processes on a shared
    machine disturb far less than the wall clock).
    """
    for bench in benches.values():
        bench.warm(stage)
    rates = {key: [] for key in benches}
    cpu = {key: [] for key in benches}
    first, second = list(benches)
    for i in range(windows):  # first-second, second-first, ... (ABBA)
        for key in (first, second) if i % 2 == 0 else (second, first):
            rate, seconds = benches[key].timed_window(stage, window_s)
            rates[key].append(rate)
            cpu[key].append(seconds)
    ratios = [b / a for a, b in zip(rates[first], rates[second])]
    return {**{k: statistics.median(v) for k, v in rates.items()},
            "ratio": statistics.median(ratios),
            "cpu_ratio": (statistics.median(cpu[first])
                          / statistics.median(cpu[second]))}


def compare_paths(models: list[str], windows: int, window_s: float) -> dict:
    """Exact path against the default path, per model and stage."""
    from provlae_tf.model.ladder import count_macs

    print("exact = --exact_zero_branches (the original's zero-multiplied "
          "branches); default = skipped. default/exact: median of the paired "
          "windows' img/s ratios; CPU-time: exact / default process CPU "
          "seconds per image (medians). MACs: training-step multiply-"
          "accumulates per image saved, counted from the layer shapes.")
    print(f"{'model':8} {'batch':>5} {'stage':>5} {'exact img/s':>12} "
          f"{'default img/s':>14} {'default/exact':>13} {'CPU-time':>8} "
          f"{'MACs saved':>10}")
    results = {}
    for name in models:
        benches = {"exact": StepBench.fresh(name, exact=True),
                   "default": StepBench.fresh(name, exact=False)}
        model = benches["default"].trainer.model
        for stage in range(1, SETUPS[name][4] + 1):
            found = alternate(benches, stage, windows, window_s)
            macs = 1 - (count_macs(model, stage, False).step
                        / count_macs(model, stage, True).step)
            results[(name, stage)] = found
            print(f"{name:8} {SETUPS[name][3]:5d} {stage:5d} "
                  f"{found['exact']:12.1f} {found['default']:14.1f} "
                  f"{found['ratio']:13.2f} {found['cpu_ratio']:8.2f} "
                  f"{macs:10.1%}", flush=True)
        # A progressive run trains the same number of images at every
        # stage: its time is the sum over stages of 1 / rate.
        # The same ratios for a whole run: per stage, seconds per image of
        # the exact path (from its median) and of the default path (that
        # divided by the stage's ratio); summed over the stages.
        stages = range(1, SETUPS[name][4] + 1)
        exact = [1 / results[(name, s)]["exact"] for s in stages]
        whole = {key: sum(exact) / sum(
            t / results[(name, s)][key] for t, s in zip(exact, stages))
            for key in ("ratio", "cpu_ratio")}
        print(f"{name:8} {'':5} {'all':>5} {'':12} {'':14} "
              f"{whole['ratio']:13.2f} {whole['cpu_ratio']:8.2f}  "
              "(whole progressive run, stages weighted equally)", flush=True)
        for bench in benches.values():
            bench.close()
    return results


def trainer_end_to_end(steps: int, epochs: int, windows: int,
                       window_s: float) -> None:
    """The trainer on the embedded dSprites against its own step rate."""
    import numpy as np

    from provlae_tf.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from provlae_tf.data.registry import load_source
    from provlae_tf.train.run_log import RunLog
    from provlae_tf.train.trainer import Trainer

    batch = SETUPS["small"][3]
    source = load_source("dsprites", "/nonexistent", max_examples=batch * steps,
                         seed=0, log=lambda line: None)
    summaries, marks = [], []

    class Log(RunLog):
        def line(self, text, echo=True):
            if text.endswith("img/s)"):
                summaries.append(float(text.rsplit("(", 1)[1].split()[0]))
            super().line(text, echo=False)

    def mark(info):  # after every step: (epoch, step, wall, CPU)
        marks.append((info.epoch, info.step_in_epoch, time.perf_counter(),
                      time.process_time()))

    with tempfile.TemporaryDirectory() as run_dir:
        config = RunConfig(
            run_dir, data=DataConfig("dsprites", max_examples=batch * steps),
            model=ModelConfig("small", 2, 1),
            train=TrainConfig(batch_size=batch, epochs_per_stage=epochs,
                              train_seq="1"))
        trainer = Trainer(config, source, Log(run_dir, "train.log", quiet=True),
                          callbacks=[mark])
        # This trainer's own step (same trace) on a fixed batch of the data.
        bench = StepBench(trainer, source.images(np.arange(batch)))
        bench.warm(1)
        before = [bench.timed_window(1, window_s) for _ in range(windows)]
        start = time.perf_counter()
        trainer.run()
        wall = epochs * steps * batch / (time.perf_counter() - start)
        after = [bench.timed_window(1, window_s) for _ in range(windows)]
    step_rate = statistics.median(r for r, _ in before + after)
    step_cpu = statistics.median(c for _, c in before + after)
    epoch_rate = statistics.median(summaries)
    # The loop's CPU seconds per image, from the second step's end to the
    # last step's end of each epoch (input, step, logging, callbacks).
    loop_cpu = []
    for epoch in range(epochs):
        inside = [m for m in marks if m[0] == epoch]
        loop_cpu.append((inside[-1][3] - inside[0][3])
                        / ((len(inside) - 1) * batch))
    print(f"\ntrainer, embedded dSprites, batch {batch}, stage 1, default "
          f"path: {epochs} epochs of {steps} steps")
    print(f"  step windows of the same trainer (before/after the run), "
          f"median: {step_rate:.1f} img/s, {step_cpu * 1e3:.2f} CPU-ms/image")
    print(f"  epoch summaries: {', '.join(f'{r:.0f}' for r in summaries)} "
          f"img/s; median {epoch_rate:.1f} = {epoch_rate / step_rate:.1%} of "
          "the step")
    print(f"  epoch loops: {statistics.median(loop_cpu) * 1e3:.2f} CPU-ms/"
          f"image (median) = {step_cpu / statistics.median(loop_cpu):.1%} of "
          "the step's rate by CPU time")
    print(f"  whole run() by the wall clock (set-up, tracing, epoch "
          f"checkpoints and stage snapshot included): {wall:.1f} img/s")


def compare_xla(models: list[str], windows: int, window_s: float) -> None:
    """Plain tf.function against XLA (default path), alternating windows."""
    print(f"{'model':8} {'batch':>5} {'stage':>5} {'plain img/s':>12} "
          f"{'XLA img/s':>10} {'XLA/plain':>9}")
    for name in models:
        benches = {"plain": StepBench.fresh(name),
                   "xla": StepBench.fresh(name, xla=True)}
        for stage in range(1, SETUPS[name][4] + 1):
            found = alternate(benches, stage, windows, window_s)
            print(f"{name:8} {SETUPS[name][3]:5d} {stage:5d} "
                  f"{found['plain']:12.1f} {found['xla']:10.1f} "
                  f"{found['ratio']:9.2f}", flush=True)
        for bench in benches.values():
            bench.close()


def compare_in_children(models: list[str], windows: int, window_s: float,
                        variants: dict[str, tuple[list[str], dict]]) -> None:
    """Two set-ups that must be chosen before TensorFlow loads, each in a
    child process of its own (``variants``: name -> extra arguments and
    environment), alternating per stage; prints img/s and their ratio."""
    first, second = variants
    print(f"plain tf.function, windows={windows}x{window_s}s (median)")
    print(f"{'model':8} {'stage':>5} {first:>9} {second:>9} "
          f"{first + '/' + second:>15}")
    for name in models:
        for stage in range(1, SETUPS[name][4] + 1):
            rates = {}
            for variant, (extra, env) in variants.items():
                child = subprocess.run(
                    [sys.executable, __file__, *extra, "--one",
                     f"{name},{stage}", "--windows", str(windows),
                     "--window_s", str(window_s)],
                    capture_output=True, text=True, check=True,
                    env={**os.environ, **env})
                rates[variant] = json.loads(child.stdout.splitlines()[-1])
            print(f"{name:8} {stage:5d} {rates[first]:9.1f} "
                  f"{rates[second]:9.1f} "
                  f"{rates[first] / rates[second]:15.2f}", flush=True)


def compare_strategies(models: list[str], windows: int,
                       window_s: float) -> None:
    """MirroredStrategy on 1 replica and on every device against the default
    step (alternating windows), per model and stage."""
    import tensorflow as tf
    devices = [d.name for d in (tf.config.list_logical_devices("GPU")
                                or tf.config.list_logical_devices("CPU"))]
    counts = sorted({1, len(devices)})
    print("default = the one-device step; mirrored xN = MirroredStrategy on "
          "N replicas (global batch unchanged). ratio: median of the paired "
          "windows' mirrored/default img/s; CPU-time: default / mirrored "
          "process CPU seconds per image.")
    print(f"{'model':8} {'batch':>5} {'stage':>5} {'replicas':>8} "
          f"{'default img/s':>14} {'mirrored img/s':>15} {'ratio':>6} "
          f"{'CPU-time':>8}")
    for name in models:
        architecture, channels, z_dim, batch, stages = SETUPS[name]
        for count in counts:
            if batch % count:
                print(f"{name:8} batch {batch} does not split over {count} "
                      "replicas: skipped")
                continue
            strategy = tf.distribute.MirroredStrategy(devices[:count])
            benches = {
                "default": StepBench.build(architecture, channels, z_dim,
                                           batch),
                "mirrored": StepBench.build(architecture, channels, z_dim,
                                            batch, strategy=strategy)}
            for stage in range(1, stages + 1):
                found = alternate(benches, stage, windows, window_s)
                print(f"{name:8} {batch:5d} {stage:5d} {count:8d} "
                      f"{found['default']:14.1f} {found['mirrored']:15.1f} "
                      f"{found['ratio']:6.3f} {found['cpu_ratio']:8.3f}",
                      flush=True)
            for bench in benches.values():
                bench.close()


def compare_precision(models: list[str], windows: int, window_s: float,
                      precision: str) -> None:
    """float32 against a --mixed_precision policy (alternating windows)."""
    print(f"{'model':8} {'batch':>5} {'stage':>5} {'float32 img/s':>14} "
          f"{precision + ' img/s':>21} {'ratio':>6}")
    for name in models:
        architecture, channels, z_dim, batch, stages = SETUPS[name]
        benches = {"off": StepBench.build(architecture, channels, z_dim,
                                          batch),
                   precision: StepBench.build(architecture, channels, z_dim,
                                              batch, precision=precision)}
        for stage in range(1, stages + 1):
            found = alternate(benches, stage, windows, window_s)
            print(f"{name:8} {batch:5d} {stage:5d} {found['off']:14.1f} "
                  f"{found[precision]:21.1f} {found['ratio']:6.2f}",
                  flush=True)
        for bench in benches.values():
            bench.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare",
                        choices=("paths", "xla", "precision", "kernels"),
                        default="paths")
    parser.add_argument("--strategy", default="default",
                        help="default,mirrored: replicas against default")
    parser.add_argument("--cpu_devices", type=int, default=0,
                        help="split the CPU into this many logical devices")
    parser.add_argument("--mixed_precision", default="",
                        help="--compare=precision: the policy (default "
                             "mixed_float16 on a GPU, else mixed_bfloat16)")
    parser.add_argument("--keras", choices=("tf_keras", "keras3", "both"),
                        default="tf_keras")
    parser.add_argument("--models", default="small,celeba")
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--window_s", type=float, default=4.0)
    # 64-step epochs: an epoch's fixed costs (the pipeline's first batch,
    # the last loss flush; the sprite templates in the first) are 5-7 % of
    # a 16-step epoch on a fast CPU, and the recipe's epochs are 5760 steps.
    parser.add_argument("--trainer_steps", type=int, default=64,
                        help="steps per epoch of the trainer run (0 = skip)")
    parser.add_argument("--trainer_epochs", type=int, default=3)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child: "model,stage"
    args = parser.parse_args()
    if args.keras == "both":
        compare_in_children(args.models.split(","), args.windows,
                            args.window_s,
                            {"tf_keras": (["--keras", "tf_keras"], {}),
                             "keras3": (["--keras", "keras3"], {})})
        return
    if args.compare == "kernels":
        compare_in_children(args.models.split(","), args.windows,
                            args.window_s,
                            {"oneDNN": ([], {"TF_ENABLE_ONEDNN_OPTS": "1"}),
                             "Eigen": ([], {"TF_ENABLE_ONEDNN_OPTS": "0"})})
        return
    _select_keras(args.keras)
    from provlae_tf.config import TrainConfig
    from provlae_tf.train import distribute
    distribute.configure_devices(TrainConfig(cpu_devices=args.cpu_devices))
    if args.one:
        name, stage = args.one.split(",")
        bench = StepBench.fresh(name)
        bench.warm(int(stage))
        print(json.dumps(statistics.median(
            bench.window(int(stage), args.window_s)
            for _ in range(args.windows))))
        return
    import tensorflow as tf
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"keras={args.keras} device={device} cores={os.cpu_count()} "
          f"windows={args.windows}x{args.window_s}s (median)")
    models = args.models.split(",")
    if "mirrored" in args.strategy.split(","):
        compare_strategies(models, args.windows, args.window_s)
        return
    if args.compare == "precision":
        compare_precision(models, args.windows, args.window_s,
                          args.mixed_precision or (
                              "mixed_float16" if device == "GPU"
                              else "mixed_bfloat16"))
        return
    if args.compare == "xla":
        compare_xla(models, args.windows, args.window_s)
        return
    compare_paths(models, args.windows, args.window_s)
    if args.trainer_steps:
        trainer_end_to_end(args.trainer_steps, args.trainer_epochs,
                           args.windows, args.window_s)


if __name__ == "__main__":
    main()
