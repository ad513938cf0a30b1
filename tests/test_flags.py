"""Flags and flagfiles: the original recipes, and clear errors for bad values."""

from pathlib import Path

import pytest
from absl import flags

from provlae_tf import config as config_lib
from provlae_tf.errors import UserError
from provlae_tf.flags import define_flags

FLAGFILES = sorted((Path(__file__).resolve().parents[1] / "flags").glob("*.cfg"))


def parse(*args: str) -> flags.FlagValues:
    fv = flags.FlagValues()
    define_flags(fv)
    fv(["prog", *args])
    return fv


def test_every_flagfile_parses_into_a_config():
    assert {p.name for p in FLAGFILES} >= {"dsprites.cfg", "3dshapes.cfg",
                                           "celeba.cfg", "smoke.cfg"}
    for path in FLAGFILES:
        config = config_lib.from_flags(parse(f"--flagfile={path}"))
        assert config.mode == "train", path


# original-code.md §1.
RECIPES = {
    "3dshapes.cfg": dict(architecture="small", z_dim=3, beta=8, pre_kl=True,
                         coff=0.5, fade_in=False, epochs=15, batch=100),
    "dsprites.cfg": dict(architecture="small", z_dim=2, beta=1, pre_kl=True,
                         coff=0.5, fade_in=True, epochs=30, batch=128),
    "celeba.cfg": dict(architecture="celeba", z_dim=7, beta=1, pre_kl=True,
                       coff=0.1, fade_in=True, epochs=5, batch=128),
}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_flagfiles_carry_the_original_recipes(name):
    path = Path(__file__).resolve().parents[1] / "flags" / name
    c = config_lib.from_flags(parse(f"--flagfile={path}"))
    r = RECIPES[name]
    assert (c.model.architecture, c.model.z_dim) == (r["architecture"],
                                                     r["z_dim"])
    assert c.model.num_ladders == (4 if r["architecture"] == "celeba" else 3)
    t = c.train
    assert (t.beta, t.pre_kl, t.coff, t.fade_in) == (
        r["beta"], r["pre_kl"], r["coff"], r["fade_in"])
    assert (t.epochs_per_stage, t.batch_size) == (r["epochs"], r["batch"])
    assert (t.learning_rate, t.fade_in_duration) == (5e-4, 5000)
    assert (t.adam_beta1, t.adam_beta2, t.adam_epsilon) == (0.9, 0.999, 1e-8)
    assert c.model.channels == (1 if name == "dsprites.cfg" else 3)


def test_original_command_line_still_parses():
    c = config_lib.from_flags(parse(
        "--train_seq=2", "--KL=True", "--fadein=True", "--coff=0.5",
        "--beta=1", "--z_dim=2", "--epoch_size=30", "--batch_size=128",
        "--learning_rate=5e-4", "--checkpoint_dir=runs/x", "--gpu_usage=0.9",
        "--log_file=log.txt", "--mode=1"))
    assert c.train.stages(3) == [2]
    assert (c.mode, c.checkpoint_dir, c.log_file) == ("train", "runs/x",
                                                      "log.txt")


def test_defaults_are_the_dsprites_recipe():
    c = config_lib.from_flags(parse())
    assert c.data.dataset == "dsprites" and c.train.stages(3) == [1, 2, 3]
    assert c.checkpoint_dir == "runs/dsprites"
    assert c.model.architecture == "small" and c.model.z_dim == 2


@pytest.mark.parametrize("args, flag", [
    (["--z_dim=0"], "--z_dim=0"),
    (["--batch_size=-1"], "--batch_size"),
    (["--train_seq=4"], "--train_seq=4"),
    (["--train_seq=0"], "--train_seq=0"),
    (["--dataset=celeba", "--train_seq=5"], "--train_seq=5"),
    (["--train_seq=two"], "--train_seq=two"),
    (["--log_file=/tmp/x.log"], "--log_file"),
    (["--log_file=../x.log"], "--log_file"),
    (["--log_var_clip=3,-100"], "--log_var_clip"),
])
def test_bad_values_name_the_flag(args, flag):
    with pytest.raises(UserError, match=flag):
        config_lib.from_flags(parse(*args))


def test_celeba_takes_stage_four():
    c = config_lib.from_flags(parse("--dataset=celeba", "--train_seq=4"))
    assert c.model.architecture == "celeba" and c.train.stages(4) == [4]


def test_unknown_dataset_is_refused_by_the_flag_parser():
    with pytest.raises(flags.IllegalFlagValueError, match="dataset"):
        parse("--dataset=cifar")


def test_config_round_trips_through_json():
    import json
    c = config_lib.from_flags(parse("--dataset=celeba"))
    assert config_lib.RunConfig.from_dict(json.loads(c.to_json())) == c
