"""The command line end to end: the smoke recipe, resume, and bad input."""

import dataclasses
import json

import numpy as np
import pytest

# The command line runs in this process (see tests/command_line.py): the
# tests that need a process of their own use command_line.run_process.
from tests.command_line import REPO, run_main

SMOKE = REPO / "flags" / "smoke.cfg"


# The smoke recipe on a quarter of its subset (8 steps per stage), to keep
# the suite short; everything else is flags/smoke.cfg.
SMOKE_ARGS = [f"--flagfile={SMOKE}", "--max_examples=512"]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("smoke") / "run"
    result = run_main(*SMOKE_ARGS, f"--checkpoint_dir={run_dir}",
                      f"--data_dir={run_dir.parent / 'no_data'}")
    return run_dir, result


def test_smoke_recipe_trains_every_stage(smoke_run):
    run_dir, result = smoke_run
    assert result.returncode == 0, result.stderr
    assert (run_dir / "config.json").exists()
    assert (run_dir / "ckpt" / "checkpoint").exists()
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    for stage in (1, 2, 3):
        assert (run_dir / "stages" / f"stage{stage}" / "ckpt.index").exists()
    log = (run_dir / "train.log").read_text()
    assert "Stage 3 finished" in log
    assert "embedded procedural dSprites" in result.stdout
    # Epoch summary: reconstruction, KL per ladder, alpha.
    assert "stage 3 epoch 1/1: recon" in log and "KL3" in log and "alpha" in log
    # The information flow: KL and I(x; z_l) per ladder at every stage end.
    flow = json.loads((run_dir / "information.json").read_text())["stages"]
    assert sorted(flow) == ["1", "2", "3"]
    assert all(len(flow[s]["mutual_information"]) == 3 for s in flow)
    assert flow["3"]["num_images"] == 512  # all the training subset
    assert (run_dir / "images" / "information_flow.png").exists()


def test_rerunning_a_finished_run_changes_nothing(smoke_run):
    run_dir, _ = smoke_run
    before = {p: p.stat().st_mtime_ns for p in (run_dir / "ckpt").iterdir()}
    result = run_main(*SMOKE_ARGS, f"--checkpoint_dir={run_dir}",
                      f"--data_dir={run_dir.parent / 'no_data'}")
    assert result.returncode == 0, result.stderr
    assert "Stage 3 is already complete" in result.stdout
    assert {p: p.stat().st_mtime_ns for p in (run_dir / "ckpt").iterdir()} \
        == before


def test_continuing_with_another_model_is_refused(smoke_run):
    run_dir, _ = smoke_run
    config = (run_dir / "config.json").read_text()
    result = run_main(*SMOKE_ARGS, f"--checkpoint_dir={run_dir}",
                      "--z_dim=3")
    assert result.returncode == 1
    assert "holds another model (z_dim=2 there, 3 asked)" in result.stderr
    assert "Traceback" not in result.stderr
    assert (run_dir / "config.json").read_text() == config


@pytest.mark.parametrize("args, message", [
    (["--z_dim=0"], "--z_dim=0: expected a positive integer"),
    (["--train_seq=4"], "--train_seq=4: expected 'all' or a stage 1..3"),
    (["--batch_size=4096"], "--batch_size=4096: expected at most the "
                            "2048 training images"),
    (["--max_examples=999999999"], "--max_examples=999999999: expected at "
                                   "most"),
    (["--dataset=cifar"], "--dataset"),
    (["--traverse_image=-1"], "--traverse_image=-1"),
    (["--mig_samples=0"], "--mig_samples=0: expected a positive integer"),
    (["--info_images=-1"], "--info_images=-1: expected 0 (off)"),
])
def test_bad_input_is_one_clear_line_and_writes_nothing(tmp_path, args,
                                                        message):
    run_dir = tmp_path / "run"
    result = run_main(f"--flagfile={SMOKE}", f"--checkpoint_dir={run_dir}",
                      f"--data_dir={tmp_path}", *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not run_dir.exists()


def test_visualize_mode_writes_the_original_outputs(smoke_run):
    run_dir, _ = smoke_run
    result = run_main(f"--checkpoint_dir={run_dir}", "--mode=visualize",
                      f"--data_dir={run_dir.parent / 'no_data'}",
                      "--eval_images=256", "--traverse_from=mean")
    assert result.returncode == 0, result.stderr
    out = run_dir / "visualize" / "stage3"
    names = {p.name for p in out.iterdir()}
    assert {"reconstructions.png", "traverse_all.png", "traverse_all.gif",
            "resample_ladder1.png", "summary.json",
            "training_curves.png"} <= names
    assert len([n for n in names if n.startswith("traverse_ladder")
                and n.endswith(".gif")]) == 6  # 3 ladders x z_dim 2
    assert "over 256 images" in result.stdout
    # The trainer wrote each stage's grids as the original's training does.
    images = run_dir / "images"
    for stage in (1, 2, 3):
        assert (images / f"stage{stage}_traversal.png").exists()
        assert (images / f"stage{stage}_resample_ladder3.png").exists()


def test_metrics_mode_on_a_missing_run_is_one_clear_line(tmp_path):
    result = run_main(f"--checkpoint_dir={tmp_path / 'none'}", "--mode=3")
    assert result.returncode == 1
    assert "no provlae_tf run or original checkpoint there" in result.stderr
    assert "Traceback" not in result.stderr


def _small_dsprites_truth():
    """A 3 x 2 x 2 x 4 x 4 sub-grid of the embedded dSprites (192 images):
    the whole 737,280 take minutes to encode, too long for a test."""
    from provlae_tf.data import dsprites
    from provlae_tf.data.ground_truth import GroundTruthData
    from provlae_tf.data.sources import ArraySource
    from provlae_tf.factor_grid import all_classes
    sizes = (1, 3, 2, 2, 4, 4)
    classes = all_classes(sizes) * np.array([1, 1, 5, 10, 8, 8])
    images = dsprites.ProceduralDSprites().images(
        np.ravel_multi_index(tuple(classes.T), dsprites.FACTOR_SIZES))
    return GroundTruthData(ArraySource("dsprites", images, 1),
                           dsprites.FACTOR_NAMES, sizes)


def test_metrics_mode_writes_the_report_and_visualize_draws_it(
        smoke_run, monkeypatch):
    from provlae_tf import modes
    from provlae_tf.config import DataConfig, EvalConfig, RunConfig
    from provlae_tf.data import registry
    run_dir, _ = smoke_run
    truth = _small_dsprites_truth()
    monkeypatch.setattr(registry, "load_ground_truth",
                        lambda dataset, data_dir, log: truth)
    config = RunConfig(
        checkpoint_dir=str(run_dir), mode="metrics",
        data=DataConfig(data_dir=str(run_dir.parent / "no_data")),
        eval=EvalConfig(factor_train_votes=200,
                        factor_eval_votes=100, info_samples=100))
    lines = []
    result = modes.metrics(config, log=lines.append)
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["stage"] == 3 and saved["num_images"] == 192
    assert saved["dataset"] == "dsprites"
    assert saved["mig_factors"] == ["scale", "orientation", "posX", "posY"]
    assert np.asarray(saved["mi_normed"]).shape == (4, 6)
    assert sorted(saved["ladders"]) == ["1", "2", "3"]
    for part in [saved["all"], *saved["ladders"].values()]:
        for name in ("mig", "mig_sup", "factor_metric", "mig_histogram"):
            assert 0.0 <= part[name] <= 1.0 + 1e-6, (name, part)
    assert len(saved["information"]) == len(saved["kl"]) == 3
    assert saved["all"]["mig"] == pytest.approx(result["all"]["mig"])
    _check_against_the_cores(run_dir, truth, saved, config.eval)
    table = "\n".join(lines).splitlines()
    assert any(line.startswith("all ") for line in table)
    assert (run_dir / "images" / "stage3_mi_matrix.png").exists()

    modes.visualize(dataclasses.replace(config, mode="visualize"),
                    log=lines.append)
    out = run_dir / "visualize" / "stage3"
    assert (out / "mi_matrix.png").exists()
    assert (out / "information_flow.png").exists()


def _check_against_the_cores(run_dir, truth, saved, options):
    """--mode=3's numbers are the library cores' on the same codes: KL per
    ladder from the closed form, I(x; z_l) and MIG / MIG-sup from their
    estimators with the same random streams."""
    import tensorflow as tf
    from provlae_tf import load_checkpoint, random_streams
    from provlae_tf.metrics import estimate_mig, information_per_ladder
    model, _ = load_checkpoint(str(run_dir))
    x = truth.source.images(np.arange(truth.source.num_examples)).astype(
        np.float32) / truth.source.max_value
    ladders = model.encode(tf.constant(x), clip=False)
    means = np.concatenate([m.numpy() for m, _ in ladders], 1)
    log_vars = np.concatenate([v.numpy() for _, v in ladders], 1)
    kl = 0.5 * (means ** 2 + np.exp(log_vars) - log_vars - 1)
    np.testing.assert_allclose(
        saved["kl"], kl.reshape(len(x), 3, -1).sum(2).mean(0), rtol=1e-4)
    noise = random_streams.generator(
        0, random_streams.METRIC_SAMPLES).standard_normal(means.shape)
    samples = means + np.exp(0.5 * log_vars) * noise
    params = np.stack([means, 0.5 * log_vars], axis=-1)
    information = information_per_ladder(
        samples, params, 2, 3,
        random_streams.generator(0, random_streams.METRIC_INFORMATION),
        options.info_samples)
    np.testing.assert_allclose(saved["information"], information,
                               rtol=1e-3, atol=1e-4)
    mig = estimate_mig(samples, params, truth.all_factors(),
                       truth.factor_sizes, factor_indices=(2, 3, 4, 5),
                       rng=random_streams.generator(
                           0, random_streams.METRIC_MIG),
                       num_samples=options.mig_samples)
    assert saved["all"]["mig"] == pytest.approx(mig.mig, abs=1e-4)
    assert saved["all"]["mig_sup"] == pytest.approx(mig.mig_sup, abs=1e-4)
    np.testing.assert_allclose(saved["mi_normed"], mig.mi_normed, atol=1e-4)


def test_metrics_mode_without_factors_reports_information_only(
        smoke_run, monkeypatch, tmp_path):
    import dataclasses
    from provlae_tf import modes
    from provlae_tf.config import DataConfig, EvalConfig, RunConfig
    from provlae_tf.datasets import DATASETS
    run_dir, _ = smoke_run
    # dSprites without its factors, as CelebA and MNIST are.
    monkeypatch.setitem(DATASETS, "dsprites", dataclasses.replace(
        DATASETS["dsprites"], factor_names=(), factor_sizes=()))
    config = RunConfig(
        checkpoint_dir=str(run_dir), mode="metrics",
        data=DataConfig(data_dir=str(tmp_path)),
        eval=EvalConfig(eval_images=300, info_samples=100))
    lines = []
    result = modes.metrics(config, log=lines.append)
    assert result["num_images"] == 300
    assert "all" not in result and "mi_normed" not in result
    assert len(result["information"]) == 3
    assert any("has no ground-truth factors" in line for line in lines)


def test_metrics_mode_refuses_a_diverged_encoder(smoke_run, monkeypatch):
    from provlae_tf import modes
    from provlae_tf.config import DataConfig, RunConfig
    from provlae_tf.data import registry
    from provlae_tf.errors import UserError
    from provlae_tf.evaluation import encoding
    run_dir, _ = smoke_run
    truth = _small_dsprites_truth()
    monkeypatch.setattr(registry, "load_ground_truth",
                        lambda dataset, data_dir, log: truth)
    real_encode = encoding.encode_dataset

    def diverged(*args, **kwargs):
        encoded = real_encode(*args, **kwargs)
        encoded.samples[5, 1] = np.nan
        return encoded

    monkeypatch.setattr(encoding, "encode_dataset", diverged)
    before = (run_dir / "metrics.json").stat().st_mtime_ns \
        if (run_dir / "metrics.json").exists() else None
    with pytest.raises(UserError, match="NaN or infinite codes for 1 of 192 "
                                        "images \\(first: index 5\\)"):
        modes.metrics(RunConfig(checkpoint_dir=str(run_dir), mode="metrics",
                                data=DataConfig(data_dir=str(run_dir))),
                      log=lambda line: None)
    after = (run_dir / "metrics.json").stat().st_mtime_ns \
        if (run_dir / "metrics.json").exists() else None
    assert after == before  # nothing written
