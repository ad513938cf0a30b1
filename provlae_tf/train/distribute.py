"""Training on many devices and hosts: ``--strategy``, ``--devices``,
``--cpu_devices`` and ``--mixed_precision``.

``default`` keeps the single-device step as it is. ``mirrored``
(``tf.distribute.MirroredStrategy``) and ``multi_worker``
(``MultiWorkerMirroredStrategy``, the cluster from ``TF_CONFIG``) run the
same step on every replica: ``--batch_size`` stays the global batch, each
replica takes the rows of its position in it, and the trainer sums the
replicas' losses and gradients so that the numbers follow the one-device
run (see :meth:`provlae_tf.train.trainer.Trainer`). Checkpoints hold the
same tensors under every strategy, so a run may resume under another one.

In a multi-worker run only the chief writes into the run directory; the
other workers write into a temporary directory that is removed at the end
(the pattern of TensorFlow's multi-worker guide).

Everything here that configures devices must run before TensorFlow
initialises them: :func:`configure_devices` first, then
:func:`make_strategy`, as :mod:`provlae_tf.main` does.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from typing import Any, Optional

from provlae_tf.config import TrainConfig
from provlae_tf.errors import UserError

_TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["host1:12345", '
                      '"host2:12345"]}, "task": {"type": "worker", '
                      '"index": 0}}')


# ------------------------------------------------------------------ devices
def configure_devices(train: TrainConfig) -> None:
    """Splits the CPU into ``--cpu_devices`` logical devices, if asked.

    Must run before TensorFlow initialises its devices (before any tensor
    is made); called again in a process already split the same way it does
    nothing.

    Raises:
        UserError: the devices were initialised already in another way.
    """
    count = train.cpu_devices
    if count <= 0:
        return
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # already initialised
        have = len(tf.config.list_logical_devices("CPU"))
        if have != count:
            raise UserError(
                f"--cpu_devices={count}: TensorFlow's devices were set up "
                f"already (with {have} CPU device(s)); set it before "
                "anything runs TensorFlow.") from None


def check_mixed_precision(train: TrainConfig) -> None:
    """Refuses ``--mixed_precision=mixed_float16`` without a GPU.

    The choice: refuse. On a CPU float16 has no fast kernels: a step is
    several times slower than in float32 and the numbers still move, so
    there is nothing to gain; mixed_bfloat16 is allowed on CPUs.
    """
    if train.mixed_precision != "mixed_float16":
        return
    import tensorflow as tf
    if not tf.config.list_physical_devices("GPU"):
        raise UserError(
            "--mixed_precision=mixed_float16: expected a GPU (this machine "
            "has none, and float16 on a CPU is slower than float32). Use "
            "--mixed_precision=off, or mixed_bfloat16.")


@contextlib.contextmanager
def precision_policy(name: str):
    """Sets the Keras global mixed-precision policy (``"off"`` = float32)
    while the block runs, e.g. while the model's layers are built (a layer
    keeps the policy it was built with); the previous one is restored."""
    from tf_keras import mixed_precision
    previous = mixed_precision.global_policy()
    mixed_precision.set_global_policy("float32" if name == "off" else name)
    try:
        yield
    finally:
        mixed_precision.set_global_policy(previous)


# --------------------------------------------------------------- strategies
def parse_tf_config(text: Optional[str]) -> dict[str, Any]:
    """The ``TF_CONFIG`` of a multi-worker run, checked.

    Raises:
        UserError: absent, not JSON, or without a cluster of workers and a
            task in it (one line with an example).
    """
    where = "--strategy=multi_worker: "
    expected = f"expected e.g. TF_CONFIG='{_TF_CONFIG_EXAMPLE}'."
    if not text:
        raise UserError(f"{where}TF_CONFIG is not set; {expected}")
    try:
        parsed = json.loads(text)
    except ValueError as e:
        raise UserError(f"{where}TF_CONFIG is not JSON ({e}); "
                        f"{expected}") from None
    cluster = parsed.get("cluster") if isinstance(parsed, dict) else None
    task = parsed.get("task") if isinstance(parsed, dict) else None
    if not isinstance(cluster, dict) or not cluster or not all(
            isinstance(v, list) and v and all(isinstance(a, str) for a in v)
            for v in cluster.values()):
        raise UserError(f"{where}TF_CONFIG has no cluster of host:port lists;"
                        f" {expected}")
    if not {"worker", "chief"} & set(cluster):
        raise UserError(f"{where}TF_CONFIG's cluster has no 'worker' (or "
                        f"'chief'); {expected}")
    if not isinstance(task, dict) or task.get("type") not in cluster \
            or not isinstance(task.get("index"), int) \
            or not 0 <= task["index"] < len(cluster[task["type"]]):
        raise UserError(f"{where}TF_CONFIG's task {task!r} is not one of its "
                        f"cluster; {expected}")
    return parsed


def make_strategy(train: TrainConfig):
    """The ``tf.distribute`` strategy of ``--strategy``; None for default.

    Call after :func:`configure_devices` and before anything else runs
    TensorFlow (MultiWorkerMirroredStrategy sets up collective ops).

    Raises:
        UserError: a bad TF_CONFIG, an unknown device in ``--devices``, or
            a global batch that the replicas cannot share evenly.
    """
    if train.strategy == "default":
        return None
    import tensorflow as tf
    if train.strategy == "multi_worker":
        parse_tf_config(os.environ.get("TF_CONFIG"))
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        devices = _named_devices(train.devices)
        if devices is None and not tf.config.list_physical_devices("GPU") \
                and train.cpu_devices > 0:
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(devices)
    check_global_batch(train.batch_size, strategy.num_replicas_in_sync)
    return strategy


def _named_devices(text: str) -> Optional[list[str]]:
    """The devices of ``--devices`` as TensorFlow names them (None when not
    given); each must exist on this machine."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        return None
    import tensorflow as tf
    available = {}
    for device in tf.config.list_logical_devices():
        spec = tf.DeviceSpec.from_string(device.name)
        available[(spec.device_type.upper(), spec.device_index)] = device.name
    found = []
    for name in names:
        try:
            spec = tf.DeviceSpec.from_string(
                name if name.startswith("/") else "/device:" + name)
        except ValueError:
            spec = None
        key = (spec.device_type.upper() if spec and spec.device_type else "",
               spec.device_index if spec else None)
        if key not in available:
            have = ", ".join(sorted(f"{t}:{i}" for t, i in available))
            raise UserError(f"--devices={text}: no device {name} on this "
                            f"machine (it has {have}).")
        found.append(available[key])
    if len(set(found)) != len(found):
        raise UserError(f"--devices={text}: a device is named twice.")
    return found


def check_global_batch(batch_size: int, replicas: int) -> None:
    """The global batch must split evenly over the replicas.

    Raises:
        UserError: it does not.
    """
    if batch_size % replicas:
        raise UserError(
            f"--batch_size={batch_size}: expected a multiple of the "
            f"{replicas} replicas (--batch_size is the global batch, split "
            "evenly).")


def replicas(strategy) -> int:
    """Replicas in sync (1 for the default strategy, None)."""
    return 1 if strategy is None else strategy.num_replicas_in_sync


# ------------------------------------------------------- chief and workers
def is_chief(strategy) -> bool:
    """Whether this process writes the run directory: always, except on a
    non-chief worker of a multi-worker run."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "chief" or (task_type == "worker" and task_id == 0
                                    and not has_chief)


@contextlib.contextmanager
def write_directory(run_dir: str, chief: bool):
    """Where this process writes: ``run_dir`` on the chief; elsewhere a
    temporary directory (the same checkpoint saves, whose collective parts
    every worker must take part in), removed when the block ends."""
    if chief:
        yield run_dir
        return
    path = tempfile.mkdtemp(prefix="provlae_tf-worker-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def is_multi_worker(strategy) -> bool:
    """Whether ``strategy`` spans a cluster of worker processes."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return resolver is not None and bool(resolver.task_type)


# What a collective op raises on the others when a worker has died.
def peer_errors():
    import tensorflow as tf
    return (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
            tf.errors.CancelledError, tf.errors.AbortedError)
