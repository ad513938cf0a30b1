"""Shared test setup: quiet TensorFlow, deterministic ops, and the order in
which pytest-xdist hands the test files to its workers."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The package first: it chooses the CPU kernels before TensorFlow loads, so
# the tests (and the processes they start) run what users run.
import provlae_tf  # noqa: E402,F401
from provlae_tf import native_log  # noqa: E402

native_log.quiet_tensorflow_startup()
import tensorflow as tf  # noqa: E402

# Resume tests compare runs bit for bit.
tf.config.experimental.enable_op_determinism()

# Grappler's graph rewrites cost about a second at the first call of every
# traced function and save nothing on the few tiny steps a test runs. The
# tests compare runs made in the same setting (or within float tolerances),
# so they hold with or without the rewrites; child processes keep them.
tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})

# The longest files first (setup.cfg: --dist loadfile --no-loadscope-reorder
# gives each worker whole files in collection order): a long file started
# last would leave the other worker idle at the end. Ordered by wall seconds
# per file on 2 cores (`python benchmarks/suite_cpu.py`); the other files
# follow in their usual order.
LONGEST_FIRST = (
    "test_differential.py",
    "test_compare.py",
    "test_fast_path.py",
    "test_distribute.py",
    "test_trainer.py",
    "test_experiments.py",
    "test_convert.py",
    "test_run_directory_robustness.py",
    "test_main.py",
    "test_baselines.py",
    "test_long_run_checkpoint.py",
    "test_interrupt.py",
    "test_modes.py",
    "test_metrics_mig.py",
    "test_loader_properties.py",
    "test_metrics_subset.py",
)


def pytest_collection_modifyitems(config, items):
    del config
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
