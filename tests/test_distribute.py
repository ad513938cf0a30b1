"""--strategy, --cpu_devices, --mixed_precision (issue 14).

Logical CPU devices must be set before TensorFlow initialises its devices,
which conftest.py's import has done in this process; the runs on two
replicas therefore happen in a child process (this file run as a script),
which reports what it measured as one JSON line.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from command_line import REPO, process_env, run_main

SMALL = ["--dataset=dsprites", "--max_examples=64", "--batch_size=16",
         "--z_dim=2", "--epoch_size=1", "--fade_in_duration=4",
         "--train_seq=1", "--info_images=0", "--log_every=2"]


# ------------------------------------------------------------------ child
def _child_parity(run_root: str) -> dict:
    """Default vs mirrored on 2 logical CPUs, and a run resumed across
    strategies (mirrored -> default -> mirrored) against the default run."""
    from provlae_tf.config import RunConfig, ModelConfig, TrainConfig
    from provlae_tf.train import distribute
    distribute.configure_devices(TrainConfig(cpu_devices=2))
    import tensorflow as tf
    from provlae_tf.data.sources import ArraySource
    from provlae_tf.errors import Interrupted
    from provlae_tf.train.run_log import RunLog
    from provlae_tf.train.trainer import Trainer
    tf.config.experimental.enable_op_determinism()

    images = (np.random.default_rng(0).random((64, 64, 64, 1)) * 255) \
        .astype(np.uint8)
    source = ArraySource("random", images, 255)
    mirrored = distribute.make_strategy(
        TrainConfig(strategy="mirrored", cpu_devices=2, batch_size=16))

    class Log(RunLog):
        losses: list

        def scalars(self, step, reconstruction, kl, alpha, stage,
                    total=None):
            self.losses.append([step, reconstruction, *kl])

    def trainer(name, strategy, stop_at=None):
        run_dir = os.path.join(run_root, name)
        config = RunConfig(run_dir, model=ModelConfig("small", 2, 1),
                           train=TrainConfig(
                               batch_size=16, epochs_per_stage=2,
                               fade_in_duration=4, train_seq="1",
                               log_every=1))
        log = Log(run_dir, "train.log", quiet=True)
        log.losses = []
        t = Trainer(config, source, log, strategy=strategy)

        def stop(info):
            if info.global_step == stop_at:
                t.stop_requested = True
        t.callbacks.append(stop)
        try:
            t.run()
        except Interrupted:
            pass
        return t, log.losses

    weights = lambda t: [v.numpy() for v in t.variables]
    default, default_losses = trainer("default", None)
    two, two_losses = trainer("mirrored", mirrored)
    copies_equal = all(
        all(np.array_equal(c.numpy(), v.values[0].numpy()) for c in v.values)
        for v in two.variables)
    # Resume across strategies: 3 steps mirrored, 3 default, 2 mirrored.
    _, part1 = trainer("resumed", mirrored, stop_at=3)
    _, part2 = trainer("resumed", None, stop_at=6)
    resumed, part3 = trainer("resumed", mirrored)
    diff = lambda a, b: max(float(np.max(np.abs(x - y)))
                            for x, y in zip(a, b))
    rel = lambda a, b: float(np.max(np.abs(np.array(a) - np.array(b))
                                    / np.maximum(np.abs(np.array(a)), 1e-6)))
    return {"replicas": mirrored.num_replicas_in_sync,
            "steps": [len(default_losses), len(two_losses)],
            "weights": diff(weights(default), weights(two)),
            "losses": rel(default_losses, two_losses),
            "copies_equal": copies_equal,
            "resumed_steps": [int(resumed.state.global_step),
                              len(part1) + len(part2) + len(part3)],
            "resumed_weights": diff(weights(default), weights(resumed)),
            "resumed_losses": rel(default_losses, part1 + part2 + part3),
            "adam_powers": [float(default.optimizer.beta1_power.numpy()),
                            float(resumed.optimizer.beta1_power.numpy())]}


def _child(argv) -> None:
    print(json.dumps(_child_parity(argv[1])), flush=True)


# ------------------------------------------------------------------ tests
@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    run_root = tmp_path_factory.mktemp("parity")
    child = subprocess.run(
        [sys.executable, __file__, str(run_root)], capture_output=True,
        text=True, env=process_env(), cwd=REPO, timeout=600)
    assert child.returncode == 0, child.stderr[-3000:]
    found = json.loads(child.stdout.strip().splitlines()[-1])
    print("mirrored vs default:", found)  # shown with pytest -s
    return found


def test_two_replicas_follow_the_one_device_run(parity):
    """Same seed and global batch: the losses (relative, float32 sums in
    another order) and the final weights within 1e-5."""
    assert parity["replicas"] == 2
    assert parity["steps"] == [8, 8]
    assert parity["weights"] < 1e-5, parity
    assert parity["losses"] < 1e-5, parity
    assert parity["copies_equal"]


def test_a_run_resumes_under_another_strategy(parity):
    """Checkpoints are strategy-independent: 3 steps mirrored, 3 default,
    2 mirrored follow the default run."""
    assert parity["resumed_steps"] == [8, 8]
    assert parity["resumed_weights"] < 1e-5, parity
    assert parity["resumed_losses"] < 1e-5, parity
    assert parity["adam_powers"][0] == parity["adam_powers"][1]


def _mixed_trainer(tmp_path, precision):
    import tensorflow as tf
    import tf_keras as keras
    from provlae_tf.config import ModelConfig, RunConfig, TrainConfig
    from provlae_tf.data.sources import ArraySource
    from provlae_tf.train.run_log import RunLog
    from provlae_tf.train.trainer import Trainer
    images = (np.random.default_rng(0).random((16, 64, 64, 1)) * 255) \
        .astype(np.uint8)
    config = RunConfig(str(tmp_path), model=ModelConfig("small", 2, 1),
                       train=TrainConfig(batch_size=8,
                                         mixed_precision=precision))
    trainer = Trainer(config, ArraySource("random", images, 255),
                      log=RunLog(str(tmp_path), "l.log", quiet=True))
    assert keras.mixed_precision.global_policy().name == "float32"
    losses = trainer.train_step(tf.constant(images[:8]), tf.constant(0.5),
                                tf.constant(0, tf.int64), 1)
    return trainer, losses


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_keeps_float32_variables_and_losses(tmp_path,
                                                            precision):
    import tensorflow as tf
    trainer, losses = _mixed_trainer(tmp_path, precision)
    assert trainer.model.trunk[0].compute_dtype == precision.split("_")[1]
    assert {v.dtype for v in trainer.variables} == {tf.float32}
    assert {v.dtype for v in trainer.optimizer.m + trainer.optimizer.v} \
        == {tf.float32}
    assert losses.total.dtype == tf.float32 and losses.kl.dtype == tf.float32
    assert np.isfinite(losses.total.numpy())
    if precision == "mixed_float16":  # dynamic loss scaling
        assert trainer.loss_scale.scale.dtype == tf.float32
        assert 1 <= float(trainer.loss_scale.scale.numpy()) <= 2.0 ** 15


def test_mixed_bfloat16_model_decodes_at_every_stage(tmp_path):
    """The stage-end images decode float32 codes outside the training step,
    where the skipped branches' kernels are not cast by Keras: the fast
    path casts them (it once failed with 'expected a float tensor but is a
    bfloat16 tensor')."""
    trainer, _ = _mixed_trainer(tmp_path, "mixed_bfloat16")
    codes = [np.zeros((2, 2), np.float32) for _ in range(3)]
    for stage in (1, 2, 3):
        trainer.model.set_stage(stage)
        logits = trainer.model.decode(codes).numpy()
        assert logits.shape == (2, 64, 64, 1) and np.isfinite(logits).all()


# ------------------------------------------------------------ multi-worker
def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_local_workers_train_and_only_the_chief_writes(tmp_path):
    run_dir = tmp_path / "run"
    workers = [f"localhost:{p}" for p in _free_ports(2)]
    children = []
    for index in range(2):
        temp = tmp_path / f"tmp{index}"
        temp.mkdir()
        tf_config = json.dumps({"cluster": {"worker": workers},
                                "task": {"type": "worker", "index": index}})
        children.append(subprocess.Popen(
            [sys.executable, "-m", "provlae_tf.main", *SMALL,
             "--max_examples=32", "--strategy=multi_worker",
             f"--checkpoint_dir={run_dir}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=REPO, env=process_env(TF_CONFIG=tf_config,
                                      TMPDIR=str(temp))))
    outputs = [c.communicate(timeout=600) for c in children]
    for child, (out, err) in zip(children, outputs):
        assert child.returncode == 0, err[-3000:]
    chief_out, worker_out = outputs[0][0], outputs[1][0]
    assert "Stage 1 finished" in chief_out and "Done" in chief_out
    assert "Stage 1 finished" not in worker_out  # quiet, no progress bar
    assert "epoch 1/1 [" not in outputs[1][1]
    assert {p.name for p in run_dir.iterdir()} >= {
        "config.json", "ckpt", "stages", "tensorboard", "images",
        "train.log"}
    log = (run_dir / "train.log").read_text()
    assert log.count("Stage 1 finished") == 1  # one writer
    # The worker's own writes went to a temporary directory, now removed.
    assert not any((tmp_path / "tmp1").iterdir())


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize("tf_config, expected", [
    (None, "TF_CONFIG is not set"),
    ("{not json", "TF_CONFIG is not JSON"),
    ('{"cluster": {}}', "no cluster"),
    ('{"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}}',
     "no 'worker'"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", '
     '"index": 3}}', "is not one of its cluster"),
])
def test_bad_tf_config_is_one_line(tf_config, expected):
    from provlae_tf.errors import UserError
    from provlae_tf.train import distribute
    with pytest.raises(UserError, match=expected) as e:
        distribute.parse_tf_config(tf_config)
    assert "\n" not in str(e.value) and "--strategy=multi_worker" in str(
        e.value)


def test_multi_worker_without_tf_config_on_the_command_line(tmp_path,
                                                            monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    result = run_main(*SMALL, "--strategy=multi_worker",
                      f"--checkpoint_dir={tmp_path / 'run'}")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(
        "provlae_tf: --strategy=multi_worker: TF_CONFIG is not set")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_unknown_device_is_one_line(tmp_path):
    result = run_main(*SMALL, "--strategy=mirrored", "--devices=/gpu:7",
                      f"--checkpoint_dir={tmp_path / 'run'}")
    assert result.returncode == 1
    assert "provlae_tf: --devices=/gpu:7: no device /gpu:7 on this " \
           "machine" in result.stderr
    assert "Traceback" not in result.stderr


def test_global_batch_must_split_over_the_replicas():
    from provlae_tf.errors import UserError
    from provlae_tf.train import distribute
    distribute.check_global_batch(16, 2)
    with pytest.raises(UserError, match=r"--batch_size=15: expected a "
                       r"multiple of the 2 replicas"):
        distribute.check_global_batch(15, 2)


def test_mixed_float16_without_a_gpu_is_refused(tmp_path):
    import tensorflow as tf
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    result = run_main(*SMALL, "--mixed_precision=mixed_float16",
                      f"--checkpoint_dir={tmp_path / 'run'}")
    assert result.returncode == 1
    assert "provlae_tf: --mixed_precision=mixed_float16: expected a GPU" \
        in result.stderr
    assert not (tmp_path / "run").exists()


def test_cpu_devices_after_tensorflow_started_is_one_line():
    from provlae_tf.config import TrainConfig
    from provlae_tf.errors import UserError
    from provlae_tf.train import distribute
    import tensorflow as tf
    tf.constant(0)  # the runtime has started in this process
    have = len(tf.config.list_logical_devices("CPU"))
    distribute.configure_devices(TrainConfig(cpu_devices=have))  # no-op
    with pytest.raises(UserError, match="--cpu_devices=9: TensorFlow's "
                       "devices were set up already"):
        distribute.configure_devices(TrainConfig(cpu_devices=9))


def test_device_flags_are_not_part_of_the_run_identity():
    import dataclasses
    from provlae_tf.config import RunConfig, TrainConfig
    a = RunConfig("x")
    b = dataclasses.replace(a, train=TrainConfig(
        strategy="mirrored", devices="/gpu:0", cpu_devices=2,
        mixed_precision="mixed_bfloat16"))
    assert a.identity() == b.identity()
    # config.json of earlier versions (without these fields) still loads.
    old = json.loads(a.to_json())
    for name in ("strategy", "devices", "cpu_devices", "mixed_precision"):
        del old["train"][name]
    assert RunConfig.from_dict(old) == a


if __name__ == "__main__":
    _child(sys.argv)
