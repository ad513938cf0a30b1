"""The package's layer contracts (.importlinter), and that they can fail."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# import-linter comes with the test extra (pip install -e '.[test]').
LINT = os.path.join(os.path.dirname(sys.executable), "lint-imports")


def lint(tree: str) -> subprocess.CompletedProcess:
    """Runs lint-imports with the repository's contracts on ``tree``."""
    env = {**os.environ, "PYTHONPATH": tree}
    return subprocess.run(
        [LINT, "--config", os.path.join(ROOT, ".importlinter"),
         "--no-cache"], cwd=tree, env=env, capture_output=True, text=True)


def test_the_package_keeps_its_layers():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, wrong_import, named", [
    # The model must not reach up into training (the stage geometry lives
    # in model/stages.py for that reason).
    ("model/stages.py", "from provlae_tf.train import schedule",
     "provlae_tf.model.stages -> provlae_tf.train.schedule"),
    # Evaluation must not reach up into the figures.
    ("evaluation/encoding.py", "from provlae_tf.viz import plots",
     "provlae_tf.evaluation.encoding -> provlae_tf.viz.plots"),
    # The metric cores are NumPy only.
    ("metrics/mig.py", "import tensorflow",
     "provlae_tf.metrics.mig -> tensorflow"),
    # The trainer must not import the converter.
    ("train/trainer.py", "from provlae_tf.convert import runs",
     "provlae_tf.train.trainer -> provlae_tf.convert.runs"),
    # Model code never reads flags.
    ("model/ladder.py", "from absl import flags",
     "provlae_tf.model.ladder -> absl"),
])
def test_a_wrong_way_import_fails_and_is_named(tmp_path, module, wrong_import,
                                               named):
    tree = tmp_path / "tree"
    shutil.copytree(os.path.join(ROOT, "provlae_tf"), tree / "provlae_tf",
                    ignore=shutil.ignore_patterns("__pycache__"))
    path = tree / "provlae_tf" / module
    path.write_text(path.read_text() + f"\n{wrong_import}\n")
    result = lint(str(tree))
    assert result.returncode != 0
    assert "1 broken" in result.stdout
    assert named in result.stdout, result.stdout
