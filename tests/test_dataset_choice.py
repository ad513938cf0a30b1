"""Without --dataset, the dataset (and so its recipe) is chosen as the
original chose it: from the name of --checkpoint_dir, or, for an original
directory whose name says nothing, from its checkpoint."""

import json

import pytest

from provlae_tf import config as config_lib
from provlae_tf.config import ModelConfig
from provlae_tf.convert import runs, tf1
from provlae_tf.errors import UserError
from provlae_tf.model.ladder import ProVLAE
from provlae_tf.model.naming import original_variable_table
from provlae_tf.train.optimizer import TF1Adam
from tests.command_line import flag_request, run_convert, run_main

# The 3D Shapes recipe as config fields (the original's training script).
SHAPES3D = {"beta": 8.0, "fade_in": False, "batch_size": 100,
            "epochs_per_stage": 15, "pre_kl": True, "coff": 0.5}


def recipe_of(config):
    t = config.train
    return {"beta": t.beta, "fade_in": t.fade_in, "batch_size": t.batch_size,
            "epochs_per_stage": t.epochs_per_stage, "pre_kl": t.pre_kl,
            "coff": t.coff}


def write_original(directory, channels=3, z_dim=3, architecture="small"):
    """An original-layout checkpoint of a fresh network (our exporter writes
    the original's names, slots and beta powers)."""
    model = ProVLAE(ModelConfig(architecture, z_dim=z_dim, channels=channels))
    optimizer = TF1Adam(list(original_variable_table(model).values()))
    tf1.export_original(model, optimizer, str(directory), step=30)
    return directory


@pytest.fixture(scope="module")
def shapes_original(tmp_path_factory):
    """An original 3D Shapes directory under a name that says nothing."""
    return write_original(tmp_path_factory.mktemp("x") / "original_run")


def test_checkpoint_dir_names_the_dataset_as_the_original_did():
    values, explicit = flag_request(
        checkpoint_dir="checkpoints/3dshapes_progress_z3_b8", train_seq="1")
    config = config_lib.build_config(values, explicit)
    assert config.data.dataset == "3dshapes" and config.model.channels == 3
    assert recipe_of(config) == SHAPES3D
    assert config_lib.choose_dataset(values, explicit) == (
        "3dshapes", "--checkpoint_dir")
    celeba = config_lib.build_config(*flag_request(
        checkpoint_dir="checkpoints/Celeb_progress_z7_exp1"))
    assert (celeba.data.dataset, celeba.model.architecture) == (
        "celeba", "celeba")
    # --dataset wins, and a name without the original's words keeps the
    # default; the original's test is case-sensitive.
    for given, dataset in (({"dataset": "dsprites"}, "dsprites"), ({}, None)):
        values, explicit = flag_request(
            checkpoint_dir="runs/celeb_3DShapes", **given)
        config = config_lib.build_config(values, explicit)
        assert config.data.dataset == (dataset or "dsprites")


def test_init_from_an_original_takes_its_datasets_recipe(shapes_original,
                                                         tmp_path):
    """Issue: an original 3D Shapes checkpoint trained with dSprites'
    values. Its channels tell 3D Shapes, whose recipe fills every recipe
    flag the command line leaves unset."""
    values, explicit = flag_request(init_from=str(shapes_original),
                                    checkpoint_dir=str(tmp_path / "new"),
                                    train_seq="3")
    config, notice = runs.resolve_original(values, explicit)
    assert config.data.dataset == "3dshapes"
    assert recipe_of(config) == SHAPES3D
    assert "guessed from the original checkpoint" in notice
    # A flag the user gives still wins over the recipe.
    values, explicit = flag_request(init_from=str(shapes_original),
                                    checkpoint_dir=str(tmp_path / "new"),
                                    train_seq="3", beta=2.0)
    config, _ = runs.resolve_original(values, explicit)
    assert config.train.beta == 2.0 and config.train.batch_size == 100


def test_an_original_directorys_name_beats_the_guess(tmp_path):
    # A 3-channel small network in a directory named as a CelebA run: the
    # data and recipe are CelebA's, the network the checkpoint's.
    named = write_original(tmp_path / "Celeb_run")
    values, explicit = flag_request(init_from=str(named),
                                    checkpoint_dir=str(tmp_path / "new"),
                                    train_seq="2")
    config, notice = runs.resolve_original(values, explicit)
    assert (config.data.dataset, config.model.architecture) == (
        "celeba", "small")
    assert config.train.coff == 0.1 and config.model.z_dim == 3
    assert notice.startswith("dataset celeba, from --init_from, as the "
                             "original chose it")
    # ... while a 1-channel run named 3dshapes contradicts its channels too.
    grey = write_original(tmp_path / "my_3dshapes_try", channels=1, z_dim=2)
    values, explicit = flag_request(init_from=str(grey),
                                    checkpoint_dir=str(tmp_path / "new2"),
                                    train_seq="2")
    with pytest.raises(UserError, match="--init_from=.*selects 3dshapes"):
        runs.resolve_original(values, explicit)
    values, explicit = flag_request(init_from=str(grey), dataset="dsprites",
                                    checkpoint_dir=str(tmp_path / "new2"),
                                    train_seq="2")
    config, notice = runs.resolve_original(values, explicit)
    assert config.data.dataset == "dsprites" and notice is None


def test_convert_writes_the_recipe_of_the_dataset(shapes_original, tmp_path):
    out = tmp_path / "converted"
    result = run_convert("--to=tf2", f"--checkpoint_dir={shapes_original}",
                         "--train_seq=2", f"--out_dir={out}")
    assert result.returncode == 0, result.stderr
    assert "dataset 3dshapes, guessed from the original checkpoint" in \
        result.stdout
    saved = json.loads((out / "config.json").read_text())
    assert saved["data"]["dataset"] == "3dshapes"
    assert {k: saved["train"][k] for k in SHAPES3D} == SHAPES3D


def test_a_pasted_original_line_trains_3dshapes_and_says_why(tmp_path):
    """An original 3D Shapes training line without --dataset (one step on a
    subset of the embedded 3D Shapes): its recipe, one notice line."""
    run = tmp_path / "checkpoints" / "3dshapes_progress_z3_b8"
    result = run_main("-train_seq=1", "-mode=1", "-z_dim=3", "-beta=8",
                      "-KL=True", "-coff=0.5", "-epoch_size=1",
                      "-batch_size=100", f"-checkpoint_dir={run}",
                      "--max_examples=100", "--info_images=0")
    assert result.returncode == 0, result.stderr
    notice = ("dataset 3dshapes, from --checkpoint_dir, as the original chose "
              "it; give --dataset to choose")
    assert result.stdout.count(notice) == 1
    saved = json.loads((run / "config.json").read_text())
    assert (saved["data"]["dataset"], saved["model"]["channels"]) == (
        "3dshapes", 3)
    assert saved["train"]["fade_in"] is False


def test_init_from_without_checkpoint_dir_runs_in_its_datasets_folder(
        shapes_original, tmp_path, monkeypatch):
    """The default run directory, runs/<dataset>, is the resolved one's."""
    from provlae_tf import run
    monkeypatch.chdir(tmp_path)
    values, explicit = flag_request(init_from=str(shapes_original),
                                    train_seq="3")
    config = run.resolve(values, explicit, log=lambda line: None)
    assert config.checkpoint_dir == "runs/3dshapes"
    assert config.data.dataset == "3dshapes"
