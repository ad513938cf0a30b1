"""--mode=3 on a seeded subset of a factor grid (``--eval_images``).

The whole grid (``eval_images`` 0, the default) must give exactly the
numbers it gave before subsets existed; on a subset every metric is computed
from the subset's images only.
"""

import json
import math

import numpy as np
import pytest

from provlae_tf import random_streams
from provlae_tf.config import EvalConfig
from provlae_tf.factor_grid import all_classes
from provlae_tf.data.ground_truth import GroundTruthData
from provlae_tf.errors import UserError
from provlae_tf.evaluation import encoded_truth, encoding, scorecard
from provlae_tf.metrics.factor_vae import factor_vae_score
from provlae_tf.metrics.histogram_mig import histogram_mig
from provlae_tf.metrics.mig import estimate_mig
from provlae_tf.metrics.synthetic import gaussian_code
from tests.blank_images import BlankImages

# A 2,160-image grid: a constant factor and five varying ones.
GRID = (1, 3, 4, 5, 6, 6)
NAMES = ("colour", "shape", "scale", "orientation", "x", "y")
VARYING = (1, 2, 3, 4, 5)
NUM = int(np.prod(GRID))
# The estimates small enough for a test.
OPTIONS = dict(mig_samples=300, factor_train_votes=200, factor_eval_votes=200,
               factor_variance_samples=500, histogram_samples=500,
               info_samples=100)


def ground_truth():
    return GroundTruthData(BlankImages(NUM), NAMES, GRID)


def perfect_means():
    """Latent j is varying factor j (classes as floats): ``(NUM, 5)``."""
    return all_classes(GRID)[:, VARYING].astype(np.float64)


def code_of(means, rows, seed=0):
    """The encoded ``rows`` of a code whose posteriors are N(means, 0.1^2)."""
    samples, params = gaussian_code(means[rows], 0.1,
                                    np.random.default_rng(seed))
    return encoding.EncodedDataset(params[..., 0], 2 * params[..., 1],
                                   samples, np.asarray(rows))


def subset(size, seed=0):
    return random_streams.subset_indices(NUM, size, seed,
                                         random_streams.EVALUATION_SUBSET)


def report(encoded, eval_images, seed=5, z_dim=5, num_ladders=1):
    return scorecard.compute_metrics(
        encoded, z_dim=z_dim, num_ladders=num_ladders,
        ground_truth=ground_truth(), dataset="", seed=seed,
        options=EvalConfig(eval_images=eval_images, **OPTIONS),
        log=lambda line: None)


# ------------------------------------------------ the whole grid, unchanged

def reference_factor_metric(means, rng, options):
    """The factor metric on the whole grid, as it was computed before
    subsets: random combinations of the varying factors (one
    ``rng.integers`` per factor, votes drawn 1024 // batch at a time), the
    fixed factor set to the first combination's value, codes looked up by
    dataset index."""
    sizes = [GRID[k] for k in VARYING]

    def codes_of(factors):
        full = np.zeros((len(factors), len(GRID)), np.int64)
        full[:, VARYING] = factors
        return means[np.ravel_multi_index(tuple(full.T), GRID)]

    def draw(num):
        return np.stack([rng.integers(s, size=num) for s in sizes], axis=1)

    variance = np.var(codes_of(draw(options.factor_variance_samples)),
                      axis=0, ddof=1)
    active = np.flatnonzero(np.sqrt(variance) >= options.factor_prune_std)
    batch = options.factor_batch

    def votes(num):
        counts = np.zeros((len(sizes), means.shape[1]), np.int64)
        per_call = max(1, 1024 // batch)
        for start in range(0, num, per_call):
            count = min(per_call, num - start)
            fixed = rng.integers(len(sizes), size=count)
            factors = draw(count * batch).reshape(count, batch, len(sizes))
            for i, k in enumerate(fixed):
                factors[i, :, k] = factors[i, 0, k]
            codes = codes_of(factors.reshape(-1, len(sizes))).reshape(
                count, batch, -1)[:, :, active]
            local = np.var(codes, axis=1, ddof=1) / variance[active]
            for i, k in enumerate(fixed):
                counts[k, active[np.argmin(local[i])]] += 1
        return counts

    train = votes(options.factor_train_votes)
    classifier = np.argmax(train, axis=0)
    evaluation = votes(options.factor_eval_votes)

    def accuracy(counts):
        return counts[classifier, np.arange(counts.shape[1])].sum() \
            / counts.sum()

    return accuracy(evaluation), accuracy(train)


def test_the_whole_grid_gives_the_numbers_of_before():
    rng = np.random.default_rng(1)
    # Half a code, half noise: every metric strictly between 0 and 1.
    means = perfect_means() + rng.standard_normal((NUM, 5)) * [0, 1, 0, 3, 9]
    encoded = code_of(means, np.arange(NUM))
    got = report(encoded, eval_images=0, seed=5)
    options = EvalConfig(**OPTIONS)
    mig = estimate_mig(encoded.samples, encoded.params, all_classes(GRID),
                       GRID, factor_indices=VARYING,
                       rng=random_streams.generator(5,
                                                    random_streams.METRIC_MIG),
                       num_samples=options.mig_samples)
    assert got["all"]["mig"] == mig.mig
    assert got["mi_normed"] == mig.mi_normed.tolist()
    factor = reference_factor_metric(
        encoded.means, random_streams.generator(
            5, random_streams.METRIC_FACTOR, 0), options)
    assert (got["all"]["factor_metric"],
            got["all"]["factor_metric_train"]) == factor
    hist_rng = random_streams.generator(5, random_streams.METRIC_HISTOGRAM)
    factors = np.stack([hist_rng.integers(GRID[k], size=500)
                        for k in VARYING], axis=1)
    rows = np.ravel_multi_index(
        tuple(np.concatenate([np.zeros((500, 1), int), factors], 1).T), GRID)
    assert got["all"]["mig_histogram"] == histogram_mig(
        encoded.means[rows], factors, options.histogram_bins).mig
    assert 0.0 < got["all"]["factor_metric"] < 1.0
    assert got["num_images"] == got["grid_images"] == NUM
    assert got["eval_subset"] == 0
    assert got["mig_num_values"] == [GRID[k] for k in VARYING]


def test_eval_images_of_the_whole_grid_or_more_is_the_whole_grid():
    encoded = code_of(perfect_means(), np.arange(NUM))
    zero, every = report(encoded, 0), report(encoded, NUM)
    for r in (zero, every):
        r.pop("seconds")
        r.pop("options")
    assert json.dumps(zero, sort_keys=True) == json.dumps(every,
                                                          sort_keys=True)


# ------------------------------------------------------- the subset's votes

class RecordingSubset(encoded_truth.EncodedSubsetGroundTruth):
    """Records every vote batch drawn and every index represented."""

    def __init__(self, *args):
        super().__init__(*args)
        self.batches, self.represented = [], []

    def sample_fixed_factor_batches(self, fixed, batch_size, rng):
        indices = super().sample_fixed_factor_batches(fixed, batch_size, rng)
        self.batches.append((np.array(fixed), indices))
        return indices

    def represent(self, columns):
        inner = super().represent(columns)

        def recorded(indices):
            self.represented.append(np.array(indices))
            return inner(indices)
        return recorded


def test_a_vote_only_uses_subset_images_with_its_value():
    truth = ground_truth()
    rows = subset(300)
    recording = RecordingSubset(truth, perfect_means()[rows], rows)
    factor_vae_score(recording, recording.represent(np.arange(5)),
                     np.random.default_rng(0), batch_size=16, num_train=150,
                     num_eval=50, num_variance_estimate=100)
    in_subset = set(rows.tolist())
    # The variances, then each call's votes: only subset images.
    assert len(recording.represented[0]) == 100
    assert all(set(r.tolist()) <= in_subset for r in recording.represented)
    drawn = [indices for _, indices in recording.batches]
    assert len(recording.represented) == 1 + len(drawn)
    for asked, batch in zip(recording.represented[1:], drawn):
        np.testing.assert_array_equal(asked, batch)
    fixed_values = []
    for fixed, indices in recording.batches:
        factors = truth.index_to_factors(indices)[:, VARYING].reshape(
            len(fixed), 16, 5)
        for k, vote in zip(fixed, factors):
            assert np.all(vote[:, k] == vote[0, k])  # the vote's value
            fixed_values.append((k, vote[0, k]))
    # 200 votes over 5 factors: every factor and several values fixed.
    assert {k for k, _ in fixed_values} == set(range(5))
    assert len(set(fixed_values)) > 10


def test_a_value_absent_or_shown_once_is_never_fixed():
    truth = ground_truth()
    classes = all_classes(GRID)
    # x (varying factor 3): value 0 absent, value 1 on one image.
    rows = np.flatnonzero(classes[:, 4] >= 2)
    rows = np.sort(np.append(rows[::3], np.flatnonzero(classes[:, 4] == 1)[7]))
    sub = encoded_truth.EncodedSubsetGroundTruth(truth, perfect_means()[rows],
                                             rows)
    np.testing.assert_array_equal(sub.usable_values(3), [2, 3, 4, 5])
    indices = sub.sample_fixed_factor_batches(np.full(4000, 3), 4,
                                              np.random.default_rng(0))
    values = truth.index_to_factors(indices)[:, 4].reshape(4000, 4)[:, 0]
    # Uniform over the 4 usable values: 1000 each, standard deviation 27.
    counts = np.bincount(values, minlength=6)
    assert counts[0] == counts[1] == 0
    assert np.all(np.abs(counts[2:] - 1000) < 5 * math.sqrt(4000 * .25 * .75))


def test_mig_on_a_subset_leaves_absent_values_out():
    """On the values present the estimator is the whole-grid one on a grid
    without the absent value (the same calls in the same order)."""
    classes = all_classes(GRID)
    rows = np.flatnonzero(classes[:, 5] != 2)  # y = 2 absent
    means = perfect_means()[rows]
    samples, params = gaussian_code(means, 0.1, np.random.default_rng(0))
    on_subset = estimate_mig(samples, params, classes[rows], GRID,
                             factor_indices=VARYING,
                             rng=np.random.default_rng(3), num_samples=200,
                             skip_missing_values=True)
    relabelled = classes[rows].copy()
    relabelled[:, 5] -= relabelled[:, 5] > 2
    smaller = GRID[:5] + (5,)
    whole = estimate_mig(samples, params, relabelled, smaller,
                         factor_indices=VARYING,
                         rng=np.random.default_rng(3), num_samples=200)
    np.testing.assert_array_equal(on_subset.mi_normed, whole.mi_normed)
    assert on_subset.num_values == (3, 4, 5, 6, 5)
    with pytest.raises(ValueError, match="factor 5"):
        estimate_mig(samples, params, classes[rows], GRID,
                     factor_indices=VARYING, rng=np.random.default_rng(3))


# ------------------------------------------------- known values on a subset

def test_a_perfect_code_on_a_subset_scores_one():
    """Latent j = factor j. A vote's fixed factor has variance 0 in its own
    latent and a positive one in every other latent (its batch mixes the
    other factors' values), so every vote names the right latent: the factor
    metric is 1. Each latent tells its factor's values apart (spacing 1,
    posterior sigma 0.1) and is independent of the other factors, so its
    normalised MI is ~1 with its own factor and ~0 with the others: MIG ~1,
    lowered only by the subset's finite-sample dependence between factors
    (about (a-1)(b-1) / 2n nats, under 0.03 nats here)."""
    rows = subset(600)
    got = report(code_of(perfect_means(), rows), eval_images=600)
    assert got["all"]["factor_metric"] == 1.0
    assert got["all"]["factor_metric_train"] == 1.0
    assert got["all"]["mig"] > 0.9
    assert got["all"]["mig_histogram"] > 0.8
    assert got["num_images"] == got["eval_subset"] == 600
    assert got["grid_images"] == NUM
    assert got["options"]["eval_images"] == 600


def test_a_random_code_on_a_subset_is_at_chance():
    """Codes independent of the factors: a vote's argmin latent does not
    depend on the fixed factor k, which is uniform over the 5 factors, so
    whatever the classifier, it is right with probability 1/5 (standard
    error sqrt(0.2 * 0.8 / 2000) = 0.009)."""
    rows = subset(600)
    means = np.random.default_rng(2).standard_normal((NUM, 5))
    truth = encoded_truth.EncodedSubsetGroundTruth(ground_truth(), means[rows],
                                               rows)
    result = factor_vae_score(truth, truth.represent(np.arange(5)),
                              np.random.default_rng(0), num_train=500,
                              num_eval=2000, num_variance_estimate=500)
    assert result.eval_accuracy == pytest.approx(0.2, abs=0.05)


# ----------------------------------------------------------------- bad input

def test_a_subset_below_the_minimum_is_refused():
    assert encoded_truth.minimum_subset(GRID) == 7  # 6 values of x, plus one
    with pytest.raises(UserError, match=r"--eval_images=6: expected 0 .* "
                                        r"at least 7"):
        encoded_truth.check_subset_size(6, ground_truth())
    encoded_truth.check_subset_size(7, ground_truth())
    encoded_truth.check_subset_size(0, ground_truth())
    rows = subset(6)
    with pytest.raises(UserError, match="at least 7"):
        report(code_of(perfect_means(), rows), eval_images=6)


def test_a_subset_without_a_vote_for_a_factor_is_refused():
    # y shows each value once: no vote can fix it.
    rows = np.sort(np.ravel_multi_index(
        (np.zeros(6, int), np.zeros(6, int), np.arange(6) % 4,
         np.arange(6) % 5, np.zeros(6, int), np.arange(6)), GRID))
    with pytest.raises(UserError, match="--eval_images=6: no value of y has "
                                        "2 images"):
        encoded_truth.EncodedSubsetGroundTruth(ground_truth(),
                                           perfect_means()[rows], rows)


def test_a_subset_showing_one_value_of_a_mig_factor_is_refused():
    rows = np.flatnonzero(all_classes(GRID)[:, 1] == 0)[:40]  # shape 0 only
    with pytest.raises(UserError, match="--eval_images=40: the subset shows 1 "
                                        "value of shape, MIG needs 2"):
        report(code_of(perfect_means(), rows), eval_images=40)


def test_rows_that_are_not_the_subset_are_refused():
    rows = subset(100)
    with pytest.raises(ValueError, match="that many"):
        report(code_of(perfect_means(), rows), eval_images=101)
    with pytest.raises(ValueError, match="increasing"):
        report(code_of(perfect_means(), rows[::-1]), eval_images=100)
    with pytest.raises(ValueError, match="every image"):
        report(code_of(perfect_means(), rows), eval_images=0)


# -------------------------------------------------------- --mode=3 end to end

@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Stage 1 of the smoke recipe on 64 images (one step): --mode=3 needs a
    checkpoint, not a good one."""
    from tests.command_line import REPO, run_main
    run_dir = tmp_path_factory.mktemp("subset") / "run"
    result = run_main(f"--flagfile={REPO / 'flags' / 'smoke.cfg'}",
                      "--max_examples=64", "--train_seq=1", "--info_images=0",
                      f"--checkpoint_dir={run_dir}",
                      f"--data_dir={run_dir.parent / 'no_data'}")
    assert result.returncode == 0, result.stderr
    return run_dir


def test_metrics_mode_on_a_subset_of_dsprites(tiny_run):
    from tests.command_line import run_main
    result = run_main(f"--checkpoint_dir={tiny_run}", "--mode=3",
                      f"--data_dir={tiny_run.parent / 'no_data'}",
                      "--eval_images=1024",
                      *(f"--{name}={value}" for name, value in OPTIONS.items()))
    assert result.returncode == 0, result.stderr
    saved = json.loads((tiny_run / "metrics.json").read_text())
    assert saved["num_images"] == saved["eval_subset"] == 1024
    assert saved["grid_images"] == 737_280
    assert saved["options"]["eval_images"] == 1024
    assert saved["mig_factors"] == ["scale", "orientation", "posX", "posY"]
    for part in [saved["all"], *saved["ladders"].values()]:
        for name in ("mig", "mig_sup", "factor_metric", "mig_histogram"):
            assert 0.0 <= part[name] <= 1.0 + 1e-6, (name, part)
    assert "a seeded random subset of 1024 of the 737280" in result.stdout
    assert "1024 images (a random subset of the 737280)" in result.stdout


@pytest.mark.parametrize("images, message", [
    (40, "--eval_images=40: expected 0 (all 737280 images) or at least 41"),
    (737_281, "--eval_images=737281: expected 0 (all) or at most the 737280 "
              "images of dsprites."),
])
def test_metrics_mode_refuses_a_bad_subset_size(tiny_run, images, message):
    from tests.command_line import run_main
    before = sorted(p.name for p in tiny_run.iterdir())
    result = run_main(f"--checkpoint_dir={tiny_run}", "--mode=3",
                      f"--data_dir={tiny_run.parent / 'no_data'}",
                      f"--eval_images={images}")
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tiny_run.iterdir()) == before
