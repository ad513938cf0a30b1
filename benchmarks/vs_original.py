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

``--profile=DIR`` traces one window of each side with TensorFlow's profiler
instead and prints their thread time per op type side by side
(:mod:`op_profile`), e.g. at stage L:

    python benchmarks/vs_original.py --original_code=../proVLAE \
        --profile=/tmp/profiles --architectures=small --stages=3 --seconds=5
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
                  kernels: str, profile_dir: str = ""):
    """Median img/s of the original's partial_fit, in a new child; traced
    into ``profile_dir`` when given, then ``(img/s, steps)`` of one
    window."""
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
            answer = original.call("bench", inputs=path, iteration=ITERATION,
                                   windows=windows, window_s=seconds,
                                   profile_dir=profile_dir or None)
    if profile_dir:
        return answer["rates"][0], answer["steps"][0]
    return statistics.median(answer["rates"])


def our_rate(architecture: str, stage: int, batch: int, windows: int,
             seconds: float, kernels: str, profile_dir: str = "") -> float:
    """Median img/s of our trainer's step, in a new child; traced into
    ``profile_dir`` when given, then ``(img/s, steps)`` of one window."""
    child = subprocess.run(
        [sys.executable, __file__, "--ours", f"{architecture},{stage}",
         f"--batch={batch}", f"--windows={windows}", f"--seconds={seconds}",
         f"--profile={profile_dir}"],
        capture_output=True, text=True, env={
            **os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_ENABLE_ONEDNN_OPTS": KERNELS[kernels]})
    if child.returncode:
        raise RuntimeError(f"our benchmark child failed:\n{child.stderr}")
    return json.loads(child.stdout.splitlines()[-1])


def _ours_child(spec_: str, batch: int, windows: int, seconds: float,
                profile_dir: str) -> None:
    from train_throughput import StepBench, measure
    architecture, stage = spec_.split(",")
    channels, z_dim, _, _ = SETUPS[architecture]
    if not profile_dir:
        print(json.dumps(measure(architecture, channels, z_dim, batch,
                                 int(stage), False, windows, seconds)))
        return
    import time
    import tensorflow as tf
    bench = StepBench.build(architecture, channels, z_dim, batch)
    bench.warm(int(stage))
    tf.profiler.experimental.start(profile_dir)
    start, steps = time.perf_counter(), 0
    while steps < 2 or time.perf_counter() - start < seconds:
        losses = bench.step(int(stage))
        steps += 1
    float(losses.total)
    rate = steps * batch / (time.perf_counter() - start)
    tf.profiler.experimental.stop()
    bench.close()
    print(json.dumps([rate, steps]))


def profile(args, architecture: str, kernels: str) -> None:
    """One traced window of each side per stage; op types side by side."""
    import op_profile
    channels, z_dim, default_batch, num_stages = SETUPS[architecture]
    batch = args.batch or default_batch
    for stage in ([int(s) for s in args.stages.split(",")] if args.stages
                  else [num_stages]):
        found = {}
        for side in ("original", "ours"):
            logdir = os.path.join(args.profile,
                                  f"{architecture}_{kernels}_s{stage}_{side}")
            rate, steps = (
                original_rate(args.original_code, architecture, stage,
                              batch, 1, args.seconds, kernels, logdir)
                if side == "original" else
                our_rate(architecture, stage, batch, 1, args.seconds,
                         kernels, logdir))
            found[side] = op_profile.op_type_times(
                op_profile.latest_xplane(logdir), steps)
            found[side]["rate"] = rate
        print(f"\n{architecture}, stage {stage}, batch {batch}, {kernels}: "
              f"original {found['original']['rate']:.1f} img/s, ours "
              f"{found['ours']['rate']:.1f} img/s (traced); thread ms per "
              "step by op type:")
        print(op_profile.side_by_side(found["ours"], found["original"]))


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
    parser.add_argument("--profile", default="",
                        help="trace one window per side into this folder "
                        "and print the op types side by side (default "
                        "stage: L)")
    parser.add_argument("--ours", help=argparse.SUPPRESS)  # child: arch,stage
    args = parser.parse_args()
    if args.ours:
        _ours_child(args.ours, args.batch, args.windows, args.seconds,
                    args.profile)
        return
    if not args.original_code:
        parser.error("--original_code is required")
    from provlae_tf.compare.child import check_original_code
    from provlae_tf.errors import UserError
    try:
        check_original_code(args.original_code)
    except UserError as e:
        parser.error(str(e))
    if args.profile:
        for kernels in (KERNELS if args.kernels == "both"
                        else [args.kernels]):
            for architecture in args.architectures.split(","):
                profile(args, architecture, kernels)
        return
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
