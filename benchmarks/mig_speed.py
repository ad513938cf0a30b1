"""Full-size MIG / MIG-sup: wall time, peak memory, and agreement with brute force.

Runs the original's estimator (S = 10,000 per call, 1 + 6 + 40 + 32 + 32
calls) on a full dSprites-sized code, N = 737,280, K = 6, with the fast
certified evaluator; then, on a subsample of query points of some calls,
times the brute-force evaluator against the fast one on the same points and
prints their largest difference. The brute-force time of the whole run is
extrapolated from its per-(query, row) cost.

    python benchmarks/mig_speed.py                   # the fixture's code if present
    python benchmarks/mig_speed.py --code=synthetic  # dSprites-like, fixture-free
    python benchmarks/mig_speed.py --code=synthetic --varied-sigma

The synthetic code follows the fixture's recipe (means = scaled factors +
0.01 noise, sigma = 0.05, one inactive latent, one mixing x and y);
``--varied-sigma`` draws a log sigma per row and latent instead (spread
0.5 nats around log 0.05, sigma ~ 1 for the inactive latent), closer to a
trained encoder.
"""

from __future__ import annotations

import argparse
import pathlib
import resource
import sys
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from provlae_tf.metrics.fast_mixture import log_mixture_fast  # noqa: E402
from provlae_tf.metrics.mig import estimate_mig, factor_value_rows  # noqa: E402
from provlae_tf.metrics.mixture import log_mixture_brute  # noqa: E402
from provlae_tf.factor_grid import all_classes  # noqa: E402

GRID = (3, 6, 40, 32, 32)
FACTORS = (1, 2, 3, 4)
FIXTURE = REPO.parent / "shared" / "fixtures" / "mig_dsprites" / "qz.npz"


def synthetic_code(rng: np.random.Generator, varied_sigma: bool):
    """``(samples, params)`` of a dSprites-like code over the whole grid."""
    f = all_classes(GRID).astype(np.float64)
    n = len(f)
    means = np.stack([f[:, 1] / 5, f[:, 3] / 31, f[:, 4] / 31, f[:, 2] / 39,
                      np.zeros(n), 0.5 * (f[:, 3] + f[:, 4]) / 31], axis=1)
    means += 0.01 * rng.standard_normal(means.shape)
    means[:, 4] = 0.05 * rng.standard_normal(n)
    log_sigma = np.full(means.shape, np.log(0.05))
    if varied_sigma:
        log_sigma += 0.5 * rng.standard_normal(means.shape)
        log_sigma[:, 4] = 0.05 * rng.standard_normal(n)
    samples = means + np.exp(log_sigma) * rng.standard_normal(means.shape)
    return samples, np.stack([means, log_sigma], axis=-1)


def compare_on_subsample(samples, params, rows, num_queries, rng):
    """Brute-force vs fast on ``num_queries`` queries of one call, all latents.

    Returns ``(brute seconds, fast seconds, max |difference|)``.
    """
    rows = np.arange(len(samples)) if rows is None else rows
    queries = samples[rows[rng.permutation(len(rows))[:num_queries]]]
    brute_s = fast_s = worst = 0.0
    for j in range(samples.shape[1]):
        mu, log_sigma = params[rows, j, 0], params[rows, j, 1]
        start = time.perf_counter()
        brute = log_mixture_brute(queries[:, j], mu, log_sigma)
        brute_s += time.perf_counter() - start
        start = time.perf_counter()
        fast = log_mixture_fast(queries[:, j], mu, log_sigma)
        fast_s += time.perf_counter() - start
        worst = max(worst, float(np.max(np.abs(fast - brute))))
    return brute_s, fast_s, worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", choices=("auto", "fixture", "synthetic"),
                        default="auto")
    parser.add_argument("--varied-sigma", action="store_true")
    parser.add_argument("--num-samples", type=int, default=10000)
    parser.add_argument("--num-queries", type=int, default=200,
                        help="query points per brute-force comparison")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    use_fixture = args.code == "fixture" or (args.code == "auto"
                                             and FIXTURE.exists())
    if use_fixture:
        qz = np.load(FIXTURE)
        samples, params = qz["qz_samples"], qz["qz_params"]
        source = f"fixture {FIXTURE}"
    else:
        samples, params = synthetic_code(rng, args.varied_sigma)
        source = "synthetic" + (" (varied sigma)" if args.varied_sigma else "")
    factors = all_classes(GRID)
    n, k = samples.shape
    print(f"code: {source}, N = {n}, K = {k}, S = {args.num_samples}")

    start = time.perf_counter()
    result = estimate_mig(samples, params, factors, GRID,
                          factor_indices=FACTORS, rng=rng,
                          num_samples=args.num_samples)
    fast_total = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"MIG = {result.mig:.6f}  MIG-sup = {result.mig_sup:.6f}  "
          f"active = {result.active_units.tolist()}")
    print(f"fast full-size estimate: {fast_total:.1f} s wall, "
          f"peak RSS {peak_mib:.0f} MiB")

    # Brute force on subsamples: the marginal call and one slice per factor.
    slices = factor_value_rows(factors, GRID, FACTORS)
    calls = [("all rows", None)] + [
        (f"factor {f} = 0", per_value[0])
        for f, per_value in zip(FACTORS, slices)]
    brute_s = fast_s = pair_count = 0.0
    worst = 0.0
    for name, rows in calls:
        b, f, w = compare_on_subsample(samples, params, rows, args.num_queries,
                                       rng)
        count = n if rows is None else len(rows)
        brute_s, fast_s = brute_s + b, fast_s + f
        pair_count += args.num_queries * count * k
        worst = max(worst, w)
        print(f"  {name:>14}: brute {b:6.2f} s, fast {f:5.2f} s, "
              f"max |log q difference| {w:.2e}")
    # Every call of the full run, as (query, row, latent) log-densities.
    sizes = [n] + [len(r) for per_value in slices for r in per_value]
    full_pairs = sum(min(args.num_samples, s) * s * k for s in sizes)
    brute_total = brute_s / pair_count * full_pairs
    print(f"brute force, extrapolated to the full run: {brute_total:.0f} s "
          f"({brute_total / 3600:.1f} h); "
          f"speed ratio {brute_total / fast_total:.0f}x")
    print(f"largest log-density difference on {len(calls) * args.num_queries} "
          f"queries x {k} latents: {worst:.2e} (bounds the entropy error)")


if __name__ == "__main__":
    main()
