"""Every metric of one encoded dataset, on all ladders and on each ladder.

What ``--mode=3`` computes (and writes as ``metrics.json``):

- MIG and MIG-sup with the original's estimator on all ladders together (the
  paper's setting). Per ladder they are the same normalised-MI matrix
  restricted to the ladder's columns: each entry depends on its own latent
  only, so no second estimate is needed.
- The factor metric (Kim & Mnih) and disentanglement_lib's histogram MIG on
  the posterior means, all ladders and each ladder.
- ``I(x; z_l)`` and the mean ``KL(q(z_l | x) || p(z_l))`` per ladder.

The factor metric and the histogram MIG look codes up in the encoded dataset
instead of encoding new batches: every factor combination is exactly one
image, so ``represent(observation of factors f)`` is the mean of row
``index(f)`` (identical to encoding it again, up to float rounding of the
batch it was encoded in), which saves encoding ~1M images.

By default every image of the grid is encoded (the paper's numbers).
``--eval_images=N`` encodes a seeded random subset of N images instead
(:func:`provlae_tf.random_streams.subset_indices`, sorted) and computes every
metric from it (:class:`encoded_truth.EncodedSubsetGroundTruth`): MIG on
the subset's rows (a value absent from the subset is left out), the factor
metric's votes and variances and the histogram MIG's samples drawn from the
subset's images. Then the metrics estimate the whole grid's, with more
noise.

Each metric draws from its own stream (:mod:`provlae_tf.random_streams`),
so changing one option never changes another metric's value. The sizes of
the estimates are the ``--mode=3`` fields of
:class:`~provlae_tf.config.EvalConfig`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Sequence

import numpy as np

from provlae_tf import random_streams
from provlae_tf.config import EvalConfig
from provlae_tf.errors import UserError
from provlae_tf.evaluation.encoded_truth import (
    EncodedGroundTruth, EncodedSubsetGroundTruth, check_subset_size)
from provlae_tf.evaluation.encoding import EncodedDataset
from provlae_tf.metrics.factor_vae import factor_vae_score
from provlae_tf.metrics.histogram_mig import histogram_mig
from provlae_tf.metrics.information import information_per_ladder
from provlae_tf.metrics.ladders import ladder_columns
from provlae_tf.metrics.mig import estimate_mig, gap_scores


def scored_factors(dataset: str, factor_names: Sequence[str],
                   factor_sizes: Sequence[int],
                   include_shape: bool = False) -> tuple:
    """Factors that MIG scores: every one with at least two values, less
    dSprites' shape unless ``include_shape`` (the original leaves it out).

    Reference: docs/original.md#mig-factors
    """
    return tuple(k for k, (name, size) in enumerate(zip(factor_names,
                                                        factor_sizes))
                 if size > 1 and (include_shape or dataset != "dsprites"
                                  or name != "shape"))


def _mig_scores(result, columns: np.ndarray) -> dict:
    active = np.intersect1d(result.active_units, columns)
    mig, mig_sup = gap_scores(result.mi_normed[:, columns],
                              np.searchsorted(columns, active))
    return {"mig": mig, "mig_sup": mig_sup,
            "active_units": [int(a) for a in active]}


def _code_scores(encoded_truth: EncodedGroundTruth, columns: np.ndarray,
                 options: EvalConfig, seed: int, part: int) -> dict:
    """The factor metric and the histogram MIG of the latents ``columns``."""
    represent = encoded_truth.represent(columns)
    factor = factor_vae_score(
        encoded_truth, represent, random_streams.generator(seed, random_streams.METRIC_FACTOR, part),
        batch_size=options.factor_batch, num_train=options.factor_train_votes,
        num_eval=options.factor_eval_votes,
        num_variance_estimate=options.factor_variance_samples,
        prune_std=options.factor_prune_std)
    rng = random_streams.generator(seed, random_streams.METRIC_HISTOGRAM)  # the same images for every part
    factors = encoded_truth.sample_factors(options.histogram_samples, rng)
    hist = histogram_mig(represent(encoded_truth.sample_observations_from_factors(
        factors, rng)), factors, options.histogram_bins)
    return {"factor_metric": factor.eval_accuracy,
            "factor_metric_train": factor.train_accuracy,
            "mig_histogram": hist.mig}


# Reference: docs/original.md#per-ladder-mig
def compute_metrics(encoded: EncodedDataset, *, z_dim: int, num_ladders: int,
                    ground_truth=None, dataset: str = "",
                    options: EvalConfig = EvalConfig(), seed: int = 0,
                    log: Callable[[str], None] = print) -> dict:
    """All metrics of an encoded dataset (see the module docstring).

    Args:
        encoded: the encoded images; with ``ground_truth``, all of them in
            canonical order, or with ``options.eval_images = N`` (below the
            grid's size) a subset of N images in increasing index order
            (``--mode=3`` encodes the seeded one of ``subset_indices``), from
            which every metric is then computed.
        z_dim: latents per ladder.
        num_ladders: L.
        ground_truth: a ``GroundTruthData`` for the factor metrics, or None
            (then only KL and ``I(x; z_l)``).
        dataset: its name (dSprites leaves out shape).
        options: estimate sizes.
        seed: seeds every estimate.
        log: progress lines.

    Returns:
        A JSON-ready dict: ``kl`` and ``information`` per ladder, and with a
        ground truth ``all`` and ``ladders`` (``{"1": {...}, ...}``) with
        ``mig``, ``mig_sup``, ``active_units``, ``factor_metric``,
        ``factor_metric_train``, ``mig_histogram``; ``mi_normed`` (rows:
        ``mig_factors``), ``factor_names``, ``factor_metric_factors`` (those
        of the factor metric and the histogram MIG: every factor with more
        than one value, as disentanglement_lib), ``grid_images`` (the
        grid's size), ``eval_subset`` (N of a subset, 0 for the whole grid),
        ``mig_num_values`` (the values MIG scored per factor: fewer than the
        factor's when a subset misses some) and ``seconds`` per step.

    Raises:
        ValueError: ``encoded`` is not the whole grid nor a subset of
            ``options.eval_images`` images.
        UserError: the subset is too small for a metric (see
            :func:`~provlae_tf.evaluation.encoded_truth.check_subset_size`).
    """
    seconds = {}
    report = {"num_images": int(len(encoded.means)), "seed": int(seed),
              "options": dataclasses.asdict(options),
              "kl": encoded.kl_per_ladder(z_dim).tolist()}
    start = time.perf_counter()
    report["information"] = information_per_ladder(
        encoded.samples, encoded.params, z_dim, num_ladders,
        random_streams.generator(seed, random_streams.METRIC_INFORMATION),
        options.info_samples).tolist()
    seconds["information"] = time.perf_counter() - start
    log(f"  I(x; z_l) done in {seconds['information']:.0f} s")
    if ground_truth is not None:
        total = ground_truth.source.num_examples
        subset = _is_subset(encoded.indices, total, options.eval_images)
        factor_indices = scored_factors(dataset, ground_truth.factor_names,
                                        ground_truth.factor_sizes,
                                        options.include_shape)
        if subset:
            check_subset_size(options.eval_images, ground_truth)
            factors = ground_truth.index_to_factors(encoded.indices)
            _check_mig_values(factors, ground_truth, factor_indices)
            # Built first: it refuses a subset too small for the factor metric
            # before MIG's minutes are spent.
            encoded_truth = EncodedSubsetGroundTruth(
                ground_truth, encoded.means, encoded.indices)
        else:
            factors = ground_truth.all_factors()
            encoded_truth = EncodedGroundTruth(ground_truth, encoded.means)
        start = time.perf_counter()
        mig = estimate_mig(
            encoded.samples, encoded.params, factors,
            ground_truth.factor_sizes, factor_indices=factor_indices,
            rng=random_streams.generator(seed, random_streams.METRIC_MIG),
            num_samples=options.mig_samples, skip_missing_values=subset)
        seconds["mig"] = time.perf_counter() - start
        log(f"  MIG and MIG-sup done in {seconds['mig']:.0f} s")
        start = time.perf_counter()
        parts = {0: np.arange(num_ladders * z_dim)}
        parts.update({ladder: ladder_columns(ladder, z_dim, num_ladders)
                      for ladder in range(1, num_ladders + 1)})
        scores = {part: {**_mig_scores(mig, columns),
                         **_code_scores(encoded_truth, columns, options, seed,
                                        part)}
                  for part, columns in parts.items()}
        seconds["factor_and_histogram"] = time.perf_counter() - start
        log(f"  factor metric and histogram MIG done in "
            f"{seconds['factor_and_histogram']:.0f} s")
        report.update({
            "grid_images": int(total),
            "eval_subset": int(len(encoded.indices)) if subset else 0,
            "mig_num_values": [int(n) for n in mig.num_values],
            "all": scores.pop(0),
            "ladders": {str(ladder): s for ladder, s in scores.items()},
            "factor_names": list(ground_truth.factor_names),
            "mig_factors": [ground_truth.factor_names[k]
                            for k in factor_indices],
            "factor_metric_factors": list(encoded_truth.factor_names),
            "mi_normed": mig.mi_normed.tolist(),
            "marginal_entropies": mig.marginal_entropies.tolist(),
            "conditional_entropies": mig.conditional_entropies.tolist(),
            "mean_variance": mig.mean_variance.tolist()})
    report["seconds"] = seconds
    return report


def _is_subset(indices: np.ndarray, total: int, eval_images: int) -> bool:
    """Whether ``indices`` are an ``--eval_images`` subset (True) or the
    whole grid (False).

    Raises:
        ValueError: they are neither (with ``eval_images`` 0 or at least
            ``total``: not every image in canonical order; else: not
            ``eval_images`` distinct grid indices in increasing order).
    """
    indices = np.asarray(indices)
    if not 0 < eval_images < total:
        if not np.array_equal(indices, np.arange(total)):
            raise ValueError("the ground-truth metrics need every image "
                             "encoded, in canonical order (or options."
                             "eval_images set to the size of a subset)")
        return False
    if (len(indices) != eval_images or np.any(np.diff(indices) <= 0)
            or indices[0] < 0 or indices[-1] >= total):
        raise ValueError(f"eval_images={eval_images}: expected that many "
                         f"distinct indices of the {total} images in "
                         f"increasing order, got {len(indices)} rows")
    return True


def _check_mig_values(factors: np.ndarray, ground_truth,
                      factor_indices: Sequence[int]) -> None:
    """Refuses a subset that shows fewer than 2 values of a factor MIG
    scores (its MI is normalised by the log of their number)."""
    for k in factor_indices:
        present = np.unique(factors[:, k]).size
        if present < 2:
            raise UserError(
                f"--eval_images={len(factors)}: the subset shows "
                f"{present} value of {ground_truth.factor_names[k]}, MIG "
                "needs 2; expected a larger --eval_images (or 0, all "
                "images).")


def format_table(report: dict, num_ladders: int) -> str:
    """The report as a text table: one row per part (all, ladder L..1)."""
    lines = []
    if "all" in report:
        header = (f"{'latents':<10}{'MIG':>8}{'MIG-sup':>9}{'factor':>8}"
                  f"{'MIG-hist':>10}{'active':>8}{'I(x;z)':>8}{'KL':>8}")
        lines.append(header)
        rows = [("all", report["all"], None, sum(report["kl"]))]
        rows += [(f"ladder {l}", report["ladders"][str(l)],
                  report["information"][l - 1], report["kl"][l - 1])
                 for l in range(num_ladders, 0, -1)]
        for name, s, info, kl in rows:
            lines.append(f"{name:<10}{s['mig']:>8.4f}{s['mig_sup']:>9.4f}"
                         f"{s['factor_metric']:>8.4f}{s['mig_histogram']:>10.4f}"
                         f"{len(s['active_units']):>8d}"
                         f"{'-' if info is None else f'{info:.3f}':>8}"
                         f"{kl:>8.3f}")
        lines.append("(MIG, MIG-sup: the original estimator; factor: Kim & "
                     "Mnih; MIG-hist: disentanglement_lib; I(x;z), KL in "
                     "nats, KL of all = sum over ladders)")
    else:
        lines.append(f"{'ladder':<10}{'I(x;z)':>8}{'KL':>8}")
        lines += [f"{l:<10d}{report['information'][l - 1]:>8.3f}"
                  f"{report['kl'][l - 1]:>8.3f}"
                  for l in range(num_ladders, 0, -1)]
    return "\n".join(lines)

