"""The library's entry points take a RunConfig built in Python and do what
the command line does (``provlae_tf.run``: train, visualize, metrics)."""

import dataclasses
import json

from provlae_tf import run
from provlae_tf.config import (DataConfig, EvalConfig, RunConfig,
                               TrainConfig)


def test_train_then_visualize_and_score_from_a_config(tmp_path):
    config = RunConfig(
        str(tmp_path / "run"),
        data=DataConfig("dsprites", data_dir=str(tmp_path / "no_data"),
                        max_examples=64),
        train=TrainConfig(epochs_per_stage=1, batch_size=32,
                          fade_in_duration=1, seed=3),
        eval=EvalConfig(info_images=0, eval_images=256, mig_samples=64,
                        factor_train_votes=20, factor_eval_votes=10,
                        factor_variance_samples=128, histogram_samples=128,
                        info_samples=32))
    run.train(config)
    run_dir = tmp_path / "run"
    saved = RunConfig.from_dict(json.loads(
        (run_dir / "config.json").read_text()))
    assert saved == config
    for stage in (1, 2, 3):  # 2 steps each
        assert (run_dir / "stages" / f"stage{stage}" / "ckpt.index").exists()
    shown = run.visualize(dataclasses.replace(config, mode="visualize"),
                          log=lambda line: None)
    assert shown["summary"]["stage"] == 3
    assert (run_dir / "visualize" / "stage3" / "summary.json").exists()
    scored = run.metrics(dataclasses.replace(config, mode="metrics"),
                         log=lambda line: None)
    assert scored["num_images"] == 256 and scored["stage"] == 3
    assert 0.0 <= scored["all"]["mig"] <= 1.0
    assert json.loads((run_dir / "metrics.json").read_text())["stage"] == 3
