"""Training speed of provlae_tf against the original code, run live.

Times the original's own training step (``VAE_ladder.partial_fit`` on a
fixed batch, its graph imported from --original_code under tf.compat.v1 as
``python -m provlae_tf.compare`` does) and ours (our trainer's compiled
``train_step`` on the same batch, timed by benchmarks/train_throughput.py's
``StepBench``), per architecture and stage, each measurement in a child
process of its own, alternating (original, ours, original, ours, ...) so
that a shared, noisy machine slows both alike. Both sides use the same CPU
kernels: oneDNN's (the package's default) or, with --kernels=eigen,
TensorFlow's Eigen kernels (TF_ENABLE_ONEDNN_OPTS=0 on both sides).

    python benchmarks/vs_original.py --original_code=../proVLAE
    python benchmarks/vs_original.py --original_code=../proVLAE \\
        --architectures=small --stages=1,3 --rounds=5 --seconds=8
    python benchmarks/vs_original.py --original_code=../proVLAE --kernels=both

Prints img/s of each (median over rounds), the ratio ours/original per
stage and over a whole progressive run (stages weighted equally: the same
number of images per stage, so the run's time is the sum of 1/rate).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO, os.path.join(REPO, "benchmarks")]

# architecture: (channels, z_dim, batch, stages), as train_throughput.SETUPS
SETUPS = {"small": (1, 2, 128, 3), "celeba": (3, 7, 64, 4)}
KERNELS = {"onednn": "1", "eigen": "0"}
# Fade-in alpha of both steps: train_throughput's StepBench feeds 0.5; the
# original's partial_fit computes min(1, iteration / 5000).
ITERATION = 2500


def same_batch(batch: int, channels: int):
    """The batch StepBench trains on (train_throughput.StepBench.build:
    seeded uint8 noise, scaled by its max value 255), as float32."""
    import numpy as np
    rng = np.random.default_rng(0)
    images = (rng.random((batch, 64, 64, channels)) * 255).astype(np.uint8)
    return images.astype(np.float32) / np.float32(255)


def original_rate(original_code: str, architecture: str, stage: int,
                  batch: int, windows: int, seconds: float,
                  kernels: str) -> float:
    """Median img/s of the original's partial_fit, in a new child."""
    from provlae_tf.compare import spec
    from provlae_tf.compare.child import OriginalProcess
    channels, z_dim, _, _ = SETUPS[architecture]
    network = spec.Network(architecture, z_dim, channels)
    with tempfile.TemporaryDirectory(prefix="vs_original_") as work:
        inputs = spec.Inputs(same_batch(batch, channels),
                             spec.random_noise(batch, network, 0))
        path = inputs.save(os.path.join(work, "batch.npz"))
        with OriginalProcess(original_code, work, env={
                "TF_ENABLE_ONEDNN_OPTS": KERNELS[kernels]}) as original:
            original.call("build", original_code=original_code,
                          network=dataclasses.asdict(network),
                          recipe=dataclasses.asdict(spec.Recipe()),
                          stage=stage)
            rates = original.call("bench", inputs=path, iteration=ITERATION,
                                  windows=windows,
                                  window_s=seconds)["rates"]
    return statistics.median(rates)


def our_rate(architecture: str, stage: int, batch: int, windows: int,
             seconds: float, kernels: str) -> float:
    """Median img/s of our trainer's step, in a new child."""
    child = subprocess.run(
        [sys.executable, __file__, "--ours", f"{architecture},{stage}",
         f"--batch={batch}", f"--windows={windows}", f"--seconds={seconds}"],
        capture_output=True, text=True, env={
            **os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_ENABLE_ONEDNN_OPTS": KERNELS[kernels]})
    if child.returncode:
        raise RuntimeError(f"our benchmark child failed:\n{child.stderr}")
    return json.loads(child.stdout.splitlines()[-1])


def _ours_child(spec_: str, batch: int, windows: int, seconds: float) -> None:
    from train_throughput import measure
    architecture, stage = spec_.split(",")
    channels, z_dim, _, _ = SETUPS[architecture]
    print(json.dumps(measure(architecture, channels, z_dim, batch,
                             int(stage), False, windows, seconds)))


def compare(args, architecture: str, kernels: str) -> None:
    channels, z_dim, default_batch, num_stages = SETUPS[architecture]
    batch = args.batch or default_batch
    stages = ([int(s) for s in args.stages.split(",")] if args.stages
              else list(range(1, num_stages + 1)))
    rates = {}
    for stage in stages:
        found = {"original": [], "ours": []}
        for _ in range(args.rounds):  # original, ours, original, ours, ...
            found["original"].append(original_rate(
                args.original_code, architecture, stage, batch,
                args.windows, args.seconds, kernels))
            found["ours"].append(our_rate(architecture, stage, batch,
                                          args.windows, args.seconds,
                                          kernels))
        rates[stage] = {k: statistics.median(v) for k, v in found.items()}
        print(f"{architecture:8} {kernels:7} {batch:5d} {stage:5d} "
              f"{rates[stage]['original']:14.1f} {rates[stage]['ours']:10.1f} "
              f"{rates[stage]['ours'] / rates[stage]['original']:14.2f}",
              flush=True)
    if len(stages) > 1:
        run = {k: sum(1 / rates[s][k] for s in stages) for k in
               ("original", "ours")}
        print(f"{architecture:8} {kernels:7} {batch:5d} {'all':>5} "
              f"{len(stages) / run['original']:14.1f} "
              f"{len(stages) / run['ours']:10.1f} "
              f"{run['original'] / run['ours']:14.2f}  (whole progressive "
              "run, stages weighted equally)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--original_code", help="the original repository")
    parser.add_argument("--architectures", default="small,celeba")
    parser.add_argument("--stages", default="",
                        help="comma-separated stages (default: all)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating (original, ours) pairs per stage")
    parser.add_argument("--windows", type=int, default=1,
                        help="timed windows per child (median)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="length of a timed window")
    parser.add_argument("--batch", type=int, default=0,
                        help="default: 128 small, 64 celeba")
    parser.add_argument("--kernels", choices=(*KERNELS, "both"),
                        default="onednn")
    parser.add_argument("--ours", help=argparse.SUPPRESS)  # child: arch,stage
    args = parser.parse_args()
    if args.ours:
        _ours_child(args.ours, args.batch, args.windows, args.seconds)
        return
    if not args.original_code:
        parser.error("--original_code is required")
    from provlae_tf.compare.child import check_original_code
    from provlae_tf.errors import UserError
    try:
        check_original_code(args.original_code)
    except UserError as e:
        parser.error(str(e))
    print(f"cores={os.cpu_count()} rounds={args.rounds} windows="
          f"{args.windows}x{args.seconds}s per child; medians over rounds")
    print(f"{'model':8} {'kernels':7} {'batch':>5} {'stage':>5} "
          f"{'original img/s':>14} {'ours img/s':>10} "
          f"{'ours/original':>14}")
    for kernels in (KERNELS if args.kernels == "both" else [args.kernels]):
        for architecture in args.architectures.split(","):
            compare(args, architecture, kernels)


if __name__ == "__main__":
    main()
