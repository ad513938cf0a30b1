"""Flags and flagfiles: the original recipes, and clear errors for bad values."""

import dataclasses
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


# The original recipes (its training scripts).
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


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_dataset_alone_is_its_flagfile(name):
    """``--dataset=X`` and ``--flagfile=flags/X.cfg`` cannot disagree."""
    path = Path(__file__).resolve().parents[1] / "flags" / name
    dataset = name[:-len(".cfg")]
    assert config_lib.from_flags(parse(f"--dataset={dataset}")) == \
        config_lib.from_flags(parse(f"--flagfile={path}"))


def test_mnist_takes_the_dsprites_values():
    mnist = config_lib.from_flags(parse("--dataset=mnist"))
    dsprites = config_lib.from_flags(parse("--dataset=dsprites"))
    assert mnist.train == dsprites.train and mnist.model == dsprites.model


def test_explicit_flags_beat_the_recipe():
    c = config_lib.from_flags(parse("--dataset=3dshapes", "--beta=2",
                                    "--fadein=true", "--z_dim=5"))
    assert (c.train.beta, c.train.fade_in, c.model.z_dim) == (2.0, True, 5)
    assert (c.train.epochs_per_stage, c.train.batch_size) == (15, 100)
    # A flag set to the value that happens to be dSprites' default is still
    # explicit: 3D Shapes with --beta=1 trains with beta 1, not 8.
    c = config_lib.from_flags(parse("--dataset=3dshapes", "--beta=1"))
    assert c.train.beta == 1.0


def test_every_flag_sets_one_field_and_every_field_is_declared():
    """The flags are generated from the config's declarations: one flag per
    declared field except the derived ones, and every field of every
    section is declared (nothing is defined twice or left out)."""
    fv = flags.FlagValues()
    define_flags(fv)
    options = config_lib.flag_options()
    assert set(fv) == set(options)
    paths = [o.path for o in options.values()]
    assert len(set(paths)) == len(paths)  # one field per flag
    declared = {o.path for o in config_lib.all_options()}
    fields = set()
    for name, section_type in [("", config_lib.RunConfig),
                               *config_lib.SECTIONS.items()]:
        for field in dataclasses.fields(section_type):
            if name == "" and field.name in config_lib.SECTIONS:
                continue
            fields.add(f"{name}.{field.name}" if name else field.name)
    assert declared == fields
    derived = declared - set(paths)
    assert derived == {"model.channels", "eval.mean_loss_batch"}


def test_flag_defaults_and_help_come_from_the_declaration():
    fv = flags.FlagValues()
    define_flags(fv)
    for name, opt in config_lib.flag_options().items():
        assert fv[name].help.endswith(opt.help), name  # absl prefixes enums
        assert fv[name].default == opt.default_flag_value, name


def _field(config, path):
    for part in path.split("."):
        config = getattr(config, part)
    return config


# A valid value other than the default, per flag type, to see it arrive.
def _other_value(flag):
    if flag.name in ("train_seq",):
        return "2", "2"
    if flag.name == "log_var_clip":
        return "-50,2", (-50.0, 2.0)
    if flag.name == "max_examples":  # a subset no smaller than the batch
        return "256", 256
    if flag.name == "mode":
        return "2", "visualize"
    choices = getattr(flag.parser, "enum_values", None)
    if choices:
        value = [v for v in choices if v != flag.default][0]
        return value, value
    if flag.flag_type() == "bool":
        return str(not flag.default).lower(), not flag.default
    if flag.flag_type() == "int":
        return str(flag.default + 1), flag.default + 1
    if flag.flag_type() == "float":
        value = flag.default * 0.5 + 0.25  # stays in (0, 1) from (0, 1]
        return repr(value), value
    return "some_name", "some_name"


def test_each_flag_reaches_its_field():
    fv = flags.FlagValues()
    define_flags(fv)
    for name, opt in config_lib.flag_options().items():
        path = opt.path
        text, value = _other_value(fv[name])
        config = config_lib.from_flags(parse(f"--{name}={text}"))
        assert _field(config, path) == value, name


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


@pytest.mark.parametrize("flag, value, build", [
    ("batch_size", "0", lambda: config_lib.TrainConfig(batch_size=0)),
    ("z_dim", "0", lambda: config_lib.ModelConfig(z_dim=0)),
    ("z_dim", "2000", lambda: config_lib.ModelConfig(z_dim=2000)),
    ("coff", "-1", lambda: config_lib.TrainConfig(coff=-1.0)),
    ("adam_beta2", "1", lambda: config_lib.TrainConfig(adam_beta2=1.0)),
    ("log_file", "/tmp/x.log",
     lambda: config_lib.RunConfig("runs/dsprites", log_file="/tmp/x.log")),
    ("max_examples", "1000000", lambda: config_lib.RunConfig(
        "runs/dsprites", data=config_lib.DataConfig(max_examples=1000000))),
    ("train_seq", "4", lambda: config_lib.RunConfig(
        "runs/dsprites", train=config_lib.TrainConfig(train_seq="4"))),
])
def test_a_config_built_in_python_is_refused_as_the_flag_is(flag, value,
                                                            build):
    with pytest.raises(UserError) as from_flag:
        config_lib.from_flags(parse(f"--{flag}={value}"))
    with pytest.raises(UserError) as from_python:
        build()
    assert str(from_python.value) == str(from_flag.value)
    assert str(from_flag.value).startswith(f"--{flag}=")


def test_docs_flags_md_is_generated_from_the_declarations():
    from provlae_tf import flags as flags_lib
    path = Path(__file__).resolve().parents[1] / "docs" / "flags.md"
    assert path.read_text() == flags_lib.markdown(), (
        "docs/flags.md is stale: python -m provlae_tf.flags > docs/flags.md")
