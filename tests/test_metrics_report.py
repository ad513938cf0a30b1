"""--mode=3's pieces: encoding a dataset, the metric report, the information
flow written at each stage end."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from provlae_tf import distributions
from provlae_tf.config import EvalConfig, ModelConfig
from provlae_tf.data import dsprites
from provlae_tf.data.ground_truth import GroundTruthData
from provlae_tf.evaluation import encoding
from provlae_tf.evaluation import encoded_truth
from provlae_tf.evaluation import scorecard
from provlae_tf.factor_grid import all_classes
from provlae_tf.model.ladder import ProVLAE
from provlae_tf import run_files
from provlae_tf.evaluation import information_flow
from provlae_tf.viz import information_flow as information_plot
from provlae_tf.viz.mean_losses import evaluate_losses
from tests.blank_images import BlankImages

Z_DIM = 2
# A dSprites-shaped factor grid, small enough to score exactly (S > rows).
GRID = (1, 3, 4, 5, 6, 6)


class RandomImages(BlankImages):
    """Random binary images."""

    def __init__(self, n, seed=0):
        super().__init__(n)
        self.data = np.random.default_rng(seed).integers(
            0, 2, (n, 64, 64, 1), dtype=np.uint8)

    def images(self, indices):
        return self.data[np.asarray(indices)]


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return ProVLAE(ModelConfig("small", z_dim=Z_DIM, channels=1), stage=3)


def identity_code(sigma=0.01, seed=0):
    """Each latent one factor: ladder 1 = (scale, orientation), ladder 2 =
    (posX, posY), ladder 3 = (shape, a latent of pure noise)."""
    factors = all_classes(GRID).astype(np.float64)
    rng = np.random.default_rng(seed)
    means = np.stack([factors[:, 2], factors[:, 3], factors[:, 4],
                      factors[:, 5], factors[:, 1],
                      rng.standard_normal(len(factors)) * 1e-3], axis=1)
    log_vars = np.full(means.shape, 2 * math.log(sigma))
    samples = means + sigma * rng.standard_normal(means.shape)
    return encoding.EncodedDataset(means, log_vars, samples,
                                   np.arange(len(means)))


def ground_truth():
    return GroundTruthData(BlankImages(int(np.prod(GRID))),
                           dsprites.FACTOR_NAMES, GRID)


# ----------------------------------------------------------------- encoding

def test_encode_dataset_matches_the_model_and_not_the_batch_size(model):
    source = RandomImages(23)
    a = encoding.encode_dataset(model, source, np.random.default_rng(5),
                                batch_size=4)
    b = encoding.encode_dataset(model, source, np.random.default_rng(5),
                                batch_size=23)
    ladders = model.encode(source.images(np.arange(23)).astype(np.float32))
    np.testing.assert_allclose(a.means, np.concatenate(
        [m.numpy() for m, _ in ladders], axis=1), atol=1e-5)
    np.testing.assert_allclose(a.log_vars, np.concatenate(
        [v.numpy() for _, v in ladders], axis=1), atol=1e-5)
    np.testing.assert_allclose(a.samples, b.samples, atol=1e-5)
    noise = np.random.default_rng(5).standard_normal(a.means.shape)
    np.testing.assert_allclose(
        a.samples, a.means + np.exp(0.5 * a.log_vars) * noise, rtol=1e-12)
    assert a.params.shape == (23, 3 * Z_DIM, 2)
    np.testing.assert_array_equal(a.params[..., 1], 0.5 * a.log_vars)


def test_the_encoder_is_traced_once_per_stage_whatever_the_batches():
    keras.utils.set_random_seed(1)
    model = ProVLAE(ModelConfig("small", z_dim=Z_DIM, channels=1), stage=2)
    source = RandomImages(11)
    for batch_size in (4, 5, 11):  # last batches of 3, 1 and 11 images
        encoding.encode_dataset(model, source, np.random.default_rng(0),
                                batch_size=batch_size)
    traced = encoding._ENCODERS[model]
    assert traced.experimental_get_tracing_count() == 1
    model.set_stage(3)
    encoding.encode_dataset(model, source, np.random.default_rng(0),
                            batch_size=4)
    assert traced.experimental_get_tracing_count() == 2


def test_kl_per_ladder_is_the_training_kl(model):
    encoded = encoding.encode_dataset(model, RandomImages(16),
                                      np.random.default_rng(0))
    expected = [float(tf.reduce_mean(distributions.kl_to_standard_normal(
        tf.constant(encoded.means[:, cols], tf.float32),
        tf.constant(encoded.log_vars[:, cols], tf.float32))))
        for cols in (slice(0, 2), slice(2, 4), slice(4, 6))]
    np.testing.assert_allclose(encoded.kl_per_ladder(Z_DIM), expected,
                               rtol=1e-5)


# ------------------------------------------------------------------- report

def test_scored_factors_leave_out_dsprites_shape_and_constants():
    names, sizes = dsprites.FACTOR_NAMES, dsprites.FACTOR_SIZES
    assert scorecard.scored_factors("dsprites", names, sizes) == (2, 3, 4, 5)
    assert scorecard.scored_factors("dsprites", names, sizes,
                                     include_shape=True) == (1, 2, 3, 4, 5)
    assert scorecard.scored_factors("3dshapes", list("abcdef"),
                                     (10, 10, 10, 8, 4, 15)) == tuple(range(6))


def test_encoded_ground_truth_looks_codes_up_by_factors():
    truth = ground_truth()
    means = np.random.default_rng(0).standard_normal((int(np.prod(GRID)), 4))
    looked_up = encoded_truth.EncodedGroundTruth(truth, means)
    assert looked_up.factor_sizes == GRID[1:]  # the constant colour out
    rng = np.random.default_rng(1)
    factors = looked_up.sample_factors(50, rng)
    observed = looked_up.sample_observations_from_factors(factors, rng)
    full = np.concatenate([np.zeros((50, 1), int), factors], axis=1)
    np.testing.assert_array_equal(observed, [
        np.ravel_multi_index(tuple(f), GRID) for f in full])
    np.testing.assert_array_equal(
        looked_up.represent(np.array([1, 3]))(observed),
        means[observed][:, [1, 3]])


@pytest.fixture(scope="module")
def identity_report():
    return scorecard.compute_metrics(
        identity_code(), z_dim=Z_DIM, num_ladders=3, ground_truth=ground_truth(),
        dataset="dsprites", seed=3, log=lambda line: None,
        options=EvalConfig(factor_train_votes=300,
                                         factor_eval_votes=200,
                                         info_samples=10000))


def test_identity_code_scores_one_on_all_ladders(identity_report):
    scores = identity_report["all"]
    assert scores["mig"] == pytest.approx(1.0, abs=0.02)
    assert scores["factor_metric"] == 1.0
    assert scores["mig_histogram"] == pytest.approx(1.0, abs=0.03)
    # Shape is not scored by MIG, so its latent (4) has no factor: MIG-sup
    # averages 1 over the four position/scale latents and ~0 over it.
    assert scores["active_units"] == [0, 1, 2, 3, 4]
    assert scores["mig_sup"] == pytest.approx(4 / 5, abs=0.02)
    assert identity_report["mig_factors"] == ["scale", "orientation", "posX",
                                              "posY"]
    assert identity_report["factor_metric_factors"] == [
        "shape", "scale", "orientation", "posX", "posY"]
    mi = np.array(identity_report["mi_normed"])
    np.testing.assert_allclose(mi[:, :4], np.eye(4), atol=0.02)


def test_per_ladder_scores_see_only_their_latents(identity_report):
    ladders = identity_report["ladders"]
    # Ladder 1 holds two of the four MIG factors: gaps 1, 1, 0, 0.
    assert ladders["1"]["mig"] == pytest.approx(0.5, abs=0.02)
    assert ladders["2"]["mig"] == pytest.approx(0.5, abs=0.02)
    assert ladders["3"]["mig"] == pytest.approx(0.0, abs=0.02)
    assert ladders["1"]["mig_sup"] == pytest.approx(1.0, abs=0.02)
    assert ladders["3"]["active_units"] == [4]
    # The factor metric on ladder 3: only the shape votes are right.
    assert ladders["3"]["factor_metric"] < 0.5


def test_information_and_kl_per_ladder(identity_report):
    n = int(np.prod(GRID))
    information = identity_report["information"]
    # Ladders 1 and 2 tell 20 and 36 values apart (sigma 0.01 << spacing 1);
    # ladder 3 tells the 3 shapes apart (its other latent is noise). The
    # estimate averages -log q(z) over the 2160 samples: its standard error
    # is sqrt(z_dim / 2 / 2160) = 0.022 nats.
    np.testing.assert_allclose(information,
                               [math.log(20), math.log(36), math.log(3)],
                               atol=0.08)
    assert max(information) <= math.log(n)
    code = identity_code()
    kl = 0.5 * (code.means ** 2 + np.exp(code.log_vars) - code.log_vars - 1)
    np.testing.assert_allclose(identity_report["kl"],
                               kl.reshape(n, 3, 2).sum(2).mean(0), rtol=1e-12)


def test_constant_code_scores_zero():
    code = identity_code()
    constant = encoding.EncodedDataset(np.zeros_like(code.means),
                                       np.zeros_like(code.log_vars),
                                       code.samples * 0 + np.random.default_rng(
                                           0).standard_normal(code.means.shape),
                                       code.indices)
    report = scorecard.compute_metrics(
        constant, z_dim=Z_DIM, num_ladders=3, ground_truth=ground_truth(),
        dataset="dsprites", log=lambda line: None,
        options=EvalConfig(factor_train_votes=100,
                                         factor_eval_votes=100))
    assert report["all"]["mig"] == pytest.approx(0.0, abs=0.02)
    assert report["all"]["mig_sup"] == 0.0  # no active unit
    assert report["all"]["active_units"] == []
    assert report["all"]["factor_metric"] == 0.0  # every latent pruned
    # Every posterior is N(0, 1): I = 0 up to the estimate's standard error
    # (0.022 nats, see above).
    np.testing.assert_allclose(report["information"], 0.0, atol=0.08)


def test_same_seed_same_report_and_table(identity_report):
    again = scorecard.compute_metrics(
        identity_code(), z_dim=Z_DIM, num_ladders=3, ground_truth=ground_truth(),
        dataset="dsprites", seed=3, log=lambda line: None,
        options=EvalConfig(factor_train_votes=300,
                                         factor_eval_votes=200,
                                         info_samples=10000))
    again.pop("seconds")
    expected = {k: v for k, v in identity_report.items() if k != "seconds"}
    assert json.dumps(again, sort_keys=True) == json.dumps(expected,
                                                           sort_keys=True)
    table = scorecard.format_table(identity_report, 3).splitlines()
    assert table[0].split() == ["latents", "MIG", "MIG-sup", "factor",
                                "MIG-hist", "active", "I(x;z)", "KL"]
    assert [line.split()[0] for line in table[1:5]] == ["all", "ladder",
                                                       "ladder", "ladder"]
    assert table[2].split()[:2] == ["ladder", "3"]
    assert float(table[1].split()[1]) == pytest.approx(
        identity_report["all"]["mig"], abs=1e-4)


def test_report_refuses_a_partial_encoding():
    code = identity_code()
    partial = encoding.EncodedDataset(code.means[:-1], code.log_vars[:-1],
                                      code.samples[:-1], code.indices[:-1])
    with pytest.raises(ValueError, match="every image"):
        scorecard.compute_metrics(partial, z_dim=Z_DIM, num_ladders=3,
                                   ground_truth=ground_truth(),
                                   log=lambda line: None)


# ---------------------------------------------------------- information flow

def test_stage_information_uses_the_training_kl(model):
    source = RandomImages(40)
    record = information_flow.stage_information(model, source,
                                                num_images=100, seed=0)
    assert record["num_images"] == 40  # capped at the dataset
    losses = evaluate_losses(model, source)
    np.testing.assert_allclose(record["kl"], losses["kl"], rtol=1e-4)
    assert max(record["mutual_information"]) <= math.log(40) + 1e-9
    assert record["max_information"] == pytest.approx(math.log(40))


def test_record_stage_accumulates_stages_and_plots(model, tmp_path):
    source = RandomImages(30)
    for stage in (1, 2):
        returned = information_flow.record_stage(
            model, source, str(tmp_path), stage, num_images=20,
            num_samples=10)
    records = run_files.read_information(str(tmp_path))
    assert returned == records
    path = information_plot.plot_information(
        records, str(tmp_path / information_plot.PLOT_FILE))
    assert sorted(records) == [1, 2]
    assert records[1]["num_images"] == 20
    assert records[1] == records[2]  # same model, subset and seed
    from PIL import Image
    assert Image.open(path).size[0] > 100
