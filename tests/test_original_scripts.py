"""Every line of the original's scripts gives the original's configuration.

The lines are read verbatim from the original repository's
``train_pro-VLAE.sh``, ``visualization.sh`` and ``compute_metric.sh`` (never
retyped), and parsed by our flags with and without ``--dataset``. What the
original would have run is computed from its own ``main.py`` and model
source: its flag defaults, its rules on ``checkpoint_dir`` (executed from
its syntax tree, with a stand-in ``flags``), and its model's constructor
defaults (the fade-in length). Nothing of the original is imported: its
modules need TensorFlow 1 and PyTorch.
"""

from __future__ import annotations

import ast
import shlex
import types

import pytest
from absl import flags

from provlae_tf import config as config_lib
from provlae_tf.flags import define_flags
from provlae_tf.datasets import ORIGINAL_FLAG_DEFAULTS
from tests.shared_fixtures import original_code_path

SCRIPTS = ("train_pro-VLAE.sh", "visualization.sh", "compute_metric.sh")
# The original's data managers and networks, by the names its main.py uses.
DATASET_OF_MANAGER = {"DataManager": "dsprites",
                      "DataManager_3dshapes": "3dshapes",
                      "DataManager_Celeb64": "celeba"}
ARCHITECTURE_OF_MODULE = {"model_ladder_progress": "small",
                          "model_ladder_pro_celbA": "celeba"}
MODES = {1: "train", 2: "visualize", 3: "metrics"}


# ------------------------------------------------ the original, from source
def script_lines(script: str) -> list[list[str]]:
    """The arguments of every ``python main.py`` line of a script."""
    lines = []
    for line in original_code_path(script).read_text().splitlines():
        words = shlex.split(line, comments=True)
        if words[:2] == ["python", "main.py"]:
            lines.append(words[2:])
    return lines


def _main_tree() -> ast.Module:
    return ast.parse(original_code_path("main.py").read_text())


def original_flag_definitions() -> dict[str, tuple[str, object]]:
    """``{name: (type, default)}`` of every ``tf.app.flags.DEFINE_*`` call."""
    found = {}
    for node in ast.walk(_main_tree()):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr.startswith("DEFINE_")):
            name, default = (ast.literal_eval(a) for a in node.args[:2])
            found[name] = (node.func.attr[len("DEFINE_"):], default)
    return found


def _parse_value(kind: str, text: str):
    if kind == "boolean":
        return {"true": True, "false": False, "1": True,
                "0": False}[text.lower()]
    return {"integer": int, "float": float, "string": str}[kind](text)


def original_flags(args: list[str]) -> dict:
    """The original's flag values for a command line (its defaults where the
    line is silent)."""
    definitions = original_flag_definitions()
    values = {name: default for name, (_, default) in definitions.items()}
    for arg in args:
        name, _, text = arg.lstrip("-").partition("=")
        values[name] = _parse_value(definitions[name][0], text)
    return values


def _evaluate(test: ast.expr, namespace: dict) -> bool:
    return bool(eval(compile(ast.Expression(test), "main.py", "eval"),
                     namespace))


def _branch(node: ast.If, namespace: dict) -> list[ast.stmt]:
    """The statements an if / elif / else chain runs."""
    while True:
        if _evaluate(node.test, namespace):
            return node.body
        if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
            node = node.orelse[0]
            continue
        return node.orelse


def original_choices(checkpoint_dir: str) -> dict:
    """What the original's main.py picks from ``checkpoint_dir``: the
    channels and network (its module-level ifs) and the data manager (the
    first if of its ``main``), evaluated from its syntax tree."""
    namespace = {"flags": types.SimpleNamespace(
        checkpoint_dir=checkpoint_dir)}
    tree = _main_tree()
    architecture = None
    for node in tree.body:
        if isinstance(node, ast.If) and "checkpoint_dir" in ast.unparse(
                node.test):
            for stmt in _branch(node, namespace):
                if isinstance(stmt, ast.ImportFrom):
                    architecture = ARCHITECTURE_OF_MODULE[stmt.module]
                else:
                    exec(compile(ast.Module([stmt], []), "main.py", "exec"),
                         namespace)
    main = next(n for n in tree.body
                if isinstance(n, ast.FunctionDef) and n.name == "main")
    choice = next(n for n in main.body if isinstance(n, ast.If))
    assignment = next(s for s in _branch(choice, namespace)
                      if isinstance(s, ast.Assign))
    manager = assignment.value.func.id
    return {"channels": namespace["chn_num"], "architecture": architecture,
            "dataset": DATASET_OF_MANAGER[manager]}


def original_model_default(parameter: str):
    """A keyword default of the original's ``VAE_ladder.__init__``."""
    tree = ast.parse(original_code_path("model_ladder_progress.py")
                     .read_text())
    init = next(n for n in ast.walk(tree)
                if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    names = [a.arg for a in init.args.args]
    defaults = dict(zip(names[len(names) - len(init.args.defaults):],
                        init.args.defaults))
    return ast.literal_eval(defaults[parameter])


# ----------------------------------------------------------- ours
def our_config(args: list[str]) -> config_lib.RunConfig:
    fv = flags.FlagValues()
    define_flags(fv)
    fv(["provlae_tf", *args])
    return config_lib.from_flags(fv)


def expected_and_ours(args: list[str], with_dataset: bool):
    original = original_flags(args)
    chosen = original_choices(original["checkpoint_dir"])
    extra = [f"--dataset={chosen['dataset']}"] if with_dataset else []
    return original, chosen, our_config(args + extra)


def check_common(original, chosen, ours) -> None:
    """What every mode takes from the command line: the mode, the stage, the
    directory, the latents and the data and network it implies."""
    assert ours.mode == MODES[original["mode"]]
    assert ours.train.train_seq == str(original["train_seq"])
    assert ours.checkpoint_dir == original["checkpoint_dir"]
    assert ours.model.z_dim == original["z_dim"]
    assert ours.data.dataset == chosen["dataset"]
    assert ours.model.architecture == chosen["architecture"]
    assert ours.model.channels == chosen["channels"]


@pytest.mark.parametrize("with_dataset", [False, True],
                         ids=["without_dataset", "with_dataset"])
def test_every_training_line(with_dataset):
    lines = script_lines("train_pro-VLAE.sh")
    # 3D Shapes and dSprites 3 stages each, CelebA 4.
    assert len(lines) == 10
    fade_in = original_model_default("fade_in_duration")
    for args in lines:
        original, chosen, ours = expected_and_ours(args, with_dataset)
        assert original["mode"] == 1, args
        check_common(original, chosen, ours)
        t = ours.train
        got = (t.epochs_per_stage, t.batch_size, t.beta, t.learning_rate,
               t.pre_kl, t.fade_in, t.coff, t.fade_in_duration)
        want = (original["epoch_size"], original["batch_size"],
                original["beta"], original["learning_rate"], original["KL"],
                original["fadein"], original["coff"], fade_in)
        assert got == want, args


@pytest.mark.parametrize("with_dataset", [False, True],
                         ids=["without_dataset", "with_dataset"])
def test_every_visualisation_line(with_dataset):
    lines = script_lines("visualization.sh")
    assert len(lines) == 3
    for args in lines:
        original, chosen, ours = expected_and_ours(args, with_dataset)
        assert original["mode"] == 2, args
        check_common(original, chosen, ours)
        # Its dataset-mean losses run in batches of its --batch_size, which
        # these lines leave at the default; the latest weights are shown
        # with the network of --train_seq.
        assert ours.eval.mean_loss_batch == original["batch_size"]
        assert ours.eval.mean_losses == "original"
        assert ours.eval.stage_weights == "latest"
        assert ours.eval.reconstruct_from == "sample"


@pytest.mark.parametrize("with_dataset", [False, True],
                         ids=["without_dataset", "with_dataset"])
def test_every_metric_line(with_dataset):
    lines = script_lines("compute_metric.sh")
    assert len(lines) == 2
    for args in lines:
        original, chosen, ours = expected_and_ours(args, with_dataset)
        assert original["mode"] == 3, args
        check_common(original, chosen, ours)
        assert ours.eval.stage_weights == "latest"


def test_our_copy_of_the_original_defaults_is_its_source():
    definitions = original_flag_definitions()
    for name, value in ORIGINAL_FLAG_DEFAULTS.items():
        assert definitions[name][1] == value, name


def test_the_original_rule_on_directory_names():
    """The rule as the original's source executes it, against ours."""
    from provlae_tf.datasets import dataset_named_by
    for path in ("checkpoints/Celeb_x", "runs/3dshapes_b8", "a/3dshape",
                 "checkpoints/dsprite_progress_z2", "celeb_lower",
                 "3DSHAPES", "x/Celeb/3dshapes"):
        assert (dataset_named_by(path) or "dsprites") == \
            original_choices(path)["dataset"], path
