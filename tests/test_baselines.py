"""Starting at any stage, and the non-progressive baselines of --model.

The runs are trained through the library (``provlae_tf.run.train``) from
the configuration the flags give, as ``python -m provlae_tf.main`` does."""

import json
import shutil

import numpy as np
import pytest
from absl import flags

from provlae_tf import config as config_lib
from provlae_tf.config import ModelConfig
from provlae_tf.errors import UserError
from provlae_tf.flags import define_flags
from provlae_tf.model.build import build_model
from provlae_tf.model.ladder import count_trainable_parameters
from provlae_tf.run import train as train_run
from tests.command_line import REPO

SMOKE = REPO / "flags" / "smoke.cfg"
# 4 steps of 64 images per epoch (flags/smoke.cfg has 1 epoch per stage).
TINY = [f"--flagfile={SMOKE}", "--max_examples=256", "--info_images=0",
        "--log_every=2"]


def config_of(*args):
    fv = flags.FlagValues()
    define_flags(fv)
    fv(["prog", *args])
    return config_lib.from_flags(fv)


def train(run_dir, *args):
    """Trains the configuration of ``TINY`` and ``args``; the run's log."""
    train_run(config_of(*TINY, f"--checkpoint_dir={run_dir}",
                        f"--data_dir={run_dir.parent / 'no_data'}", *args))
    return (run_dir / "train.log").read_text()


def epoch_lines(log):
    return [line for line in log.splitlines() if " epoch " in line
            and ": recon" in line]


@pytest.fixture(scope="module")
def stage2_run(tmp_path_factory):
    """``--train_seq=2`` on an empty directory."""
    run_dir = tmp_path_factory.mktemp("stage2") / "run"
    return run_dir, train(run_dir, "--train_seq=2")


def test_train_seq_k_on_an_empty_directory_trains_stage_k(stage2_run):
    run_dir, log = stage2_run
    assert "Starting at stage 2 from a fresh initialisation; stage 1 " \
           "skipped" in log
    # The stage table: stage 2 of L = 3 trains ladders 3 and 2; ladder 1 is
    # inactive and weighted by --coff = 0.5 (pre-KL), the others by beta = 1.
    assert "Stage 2: ladders [3, 2] active, KL weights [0.5, 1.0, 1.0]." \
        in log
    assert [line.split(": recon")[0][20:] for line in epoch_lines(log)] == \
        ["stage 2 epoch 1/1"]
    assert (run_dir / "stages" / "stage2" / "ckpt.index").exists()
    assert not (run_dir / "stages" / "stage1").exists()
    from provlae_tf.train import checkpoints
    assert checkpoints.read_completed_stages(str(run_dir)) == 2


def test_a_run_started_at_stage_k_continues_from_there(stage2_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(stage2_run[0], run_dir)
    # The skipped stage has nothing to do; the next stage continues.
    log = train(run_dir, "--train_seq=1")
    assert "Stage 1 is already complete" in log
    log = train(run_dir, "--train_seq=3")
    assert "Resuming" in log
    assert "Stage 3: ladders [3, 2, 1] active" in log


def test_vlae_trains_every_ladder_for_the_whole_run(tmp_path):
    config = config_of(f"--flagfile={SMOKE}", "--model=vlae",
                       "--epoch_size=2")
    # The flagfile turns fade-in and pre-KL on; the baseline has neither.
    assert (config.train.train_seq, config.train.epochs_per_stage,
            config.train.fade_in, config.train.pre_kl) == ("3", 6, False,
                                                           False)
    run_dir = tmp_path / "vlae"
    log = train(run_dir, "--model=vlae")
    assert "--model=vlae: ladders [3, 2, 1] trained together from the " \
           "first step for 3 epochs" in log
    assert "Stage 3: ladders [3, 2, 1] active, KL weights [1.0, 1.0, 1.0]." \
        in log
    assert len(epoch_lines(log)) == 3
    assert all("alpha 1.000" in line for line in epoch_lines(log))
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["model"]["kind"] == "vlae"
    # The same network as pro-VLAE.
    assert count_trainable_parameters(build_model(
        ModelConfig("small", 2, 1, kind="vlae"))) == \
        count_trainable_parameters(build_model(ModelConfig("small", 2, 1)))


def small_beta_vae_parameters(z_dim, channels, num_ladders=3):
    """The beta-VAE on the "small" network, counted by hand: 4x4 kernels,
    32 filters, "BN" as gamma and beta per channel, fc 256."""
    latents = num_ladders * z_dim
    conv = lambda c_in, c_out: 16 * c_in * c_out + c_out  # noqa: E731
    dense = lambda n_in, n_out: n_in * n_out + n_out  # noqa: E731
    bn = lambda c: 2 * c  # noqa: E731
    trunk = conv(channels, 32) + bn(32) + 2 * (conv(32, 32) + bn(32))
    # qladder3: conv to 4x4x32, fc 256, mean and log-variance.
    head = conv(32, 32) + bn(32) + dense(512, 256) + bn(256) \
        + 2 * dense(256, latents)
    # gen3: fc 256, fc 4*4*32, deconv to 8x8x32; gen2 and gen1: the deconv
    # of the map from above only; gen0: deconv to the pixels, no "BN".
    top = dense(latents, 256) + bn(256) + dense(256, 512) + bn(512) \
        + conv(32, 32) + bn(32)
    below = 2 * (conv(32, 32) + bn(32))
    pixels = conv(32, channels)
    return trunk + head + top + below + pixels


@pytest.mark.parametrize("z_dim, channels", [(2, 1), (3, 3)])
def test_beta_vae_parameter_count_by_hand(z_dim, channels):
    model = build_model(ModelConfig("small", z_dim, channels,
                                    kind="beta_vae"))
    assert model.num_ladders == 1
    assert model.config.latents_per_ladder == 3 * z_dim
    assert count_trainable_parameters(model) == \
        small_beta_vae_parameters(z_dim, channels)


def test_beta_vae_run_scores_one_ladder(tmp_path):
    config = config_of(f"--flagfile={SMOKE}", "--model=beta_vae")
    assert (config.train.train_seq, config.train.epochs_per_stage,
            config.model.num_ladders) == ("1", 3, 1)
    run_dir = tmp_path / "beta"
    log = train(run_dir, "--model=beta_vae", "--epoch_size=1",
                "--info_images=128", "--info_samples=64")
    assert "Stage 1: ladders [1] active, KL weights [1.0]." in log
    assert len(epoch_lines(log)) == 3
    flow = json.loads((run_dir / "information.json").read_text())["stages"]
    assert list(flow) == ["1"]
    assert len(flow["1"]["mutual_information"]) == 1
    codes = build_model(ModelConfig("small", 2, 1, kind="beta_vae")).encode(
        np.zeros((2, 64, 64, 1), np.float32))
    assert [m.shape for m, _ in codes] == [(2, 6)]


@pytest.mark.parametrize("args, message", [
    (["--model=vlae", "--train_seq=2"],
     "--train_seq=2: --model=vlae trains in one stage (stage 3"),
    (["--model=beta_vae", "--train_seq=3"],
     "--train_seq=3: --model=beta_vae trains in one stage (stage 1"),
])
def test_a_stage_the_baseline_lacks_is_refused(args, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        config_of(f"--flagfile={SMOKE}", *args)


def test_another_model_in_a_run_directory_is_refused(stage2_run, tmp_path):
    run_dir = stage2_run[0]
    config = (run_dir / "config.json").read_text()
    with pytest.raises(UserError, match=r"holds another model \(model="
                       r"'provlae' there, 'vlae' asked\)"):
        train_run(config_of(*TINY, f"--checkpoint_dir={run_dir}",
                            "--model=vlae",
                            f"--data_dir={tmp_path / 'no_data'}"))
    assert (run_dir / "config.json").read_text() == config
