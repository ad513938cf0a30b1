"""Fixtures made by the original code, and our parity on them.

:func:`write_fixture` runs the original's graph in child processes and
writes (tests/README.md describes the layout):

- ``checkpoint``, ``checkpoint-<n>.*``: the original's TF1 state at the
  fixture's stage (its own Saver; no ``.meta`` graph);
- ``inputs.npz``: the images ``x`` and noise ``eps1..epsL``;
- ``stage<k>_a<alpha>.npz``: the original's results (:mod:`.spec`) on that
  state at alpha 1 and the fade alpha: posteriors, logits from the means,
  losses, and one training step (losses after, every variable after);
- ``fixture.json``: what was made and how;
- with ``train_steps`` > 0, a short original training run: stage s = 1..k
  in a fresh process each (as the original's scripts), restoring the
  previous stage's checkpoint; ``train_stage<s>.npz`` holds each step's
  batch ``x``, noise ``eps<l>``, ``fade_in`` and the losses the original's
  ``partial_fit`` fetched; ``<s>/`` the state after stage s (the layout of
  the original's ``copy_each_step``) and ``0/`` the initial state.

:func:`parity_rows` and :func:`continuation_rows` compare our model with a
fixture (the golden values are all the original's).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from typing import Callable, Optional

from provlae_tf.compare import continuation, runner, spec, table
from provlae_tf.compare.child import OriginalProcess

FIXTURE_FILE = "fixture.json"


def _copy_checkpoint(prefix: str, directory: str) -> None:
    """Copies a TF1 checkpoint with its state file into ``directory``."""
    os.makedirs(directory)
    source = os.path.dirname(prefix)
    base = os.path.basename(prefix)
    for name in os.listdir(source):
        if name == "checkpoint" or name.startswith(base + "."):
            shutil.copy2(os.path.join(source, name), directory)


def write_fixture(original_code: str, out_dir: str, network: spec.Network,
                  recipe: spec.Recipe, stage: int, seed: int = 0,
                  fade_alpha: float = 0.3, batch: int = 8,
                  train_steps: int = 0, elements: int = 0,
                  dataset: Optional[str] = None, data_dir: str = "data",
                  rewrites: bool = True,
                  log: Callable[[str], None] = print) -> str:
    """Writes a fixture of the original code to the new ``out_dir``.

    Args:
        original_code: the original repository's directory.
        out_dir: the directory to create (absent or empty).
        network, recipe: the network's shape and the training settings.
        stage: the stage of the fixture (``train_seq``).
        seed: seeds the original's initialisation, the images and noise.
        fade_alpha: the alpha evaluated besides 1 (from stage 2 on).
        batch: images per batch (evaluation and training).
        train_steps: original training steps per stage 1..stage (0: the
            fresh initialisation at ``stage``).
        elements: the state after the step at this many positions per
            tensor (0: whole).
        dataset, data_dir: evaluation images of a dataset (default random
            binary ones); training batches are always random binary.
        rewrites: let Grappler rewrite the original's graph.
        log: where progress lines go.

    Returns:
        ``out_dir``.
    """
    from provlae_tf.train.checkpoint_writes import staged_directory
    if not 1 <= stage <= network.num_ladders:
        from provlae_tf.errors import UserError
        raise UserError(f"--train_seq={stage}: expected 1.."
                        f"{network.num_ladders} for the {network.architecture}"
                        " network.")
    inputs = runner.make_inputs(network, batch, seed, dataset, data_dir, log)
    alphas = spec.alphas_for(stage, fade_alpha)
    build = dict(original_code=os.path.abspath(original_code),
                 network=dataclasses.asdict(network),
                 recipe=dataclasses.asdict(recipe), seed=seed,
                 rewrites=rewrites)
    with staged_directory(out_dir) as tmp, \
            tempfile.TemporaryDirectory(prefix="provlae_fixture_") as work:
        inputs_path = inputs.save(os.path.join(tmp, "inputs.npz"))
        evaluate = dict(inputs=inputs_path, alphas=alphas, out_dir=tmp,
                        stage=stage, elements=elements)
        if not train_steps:
            with OriginalProcess(original_code, work) as original:
                original.call("build", stage=stage, **build)
                original.call("save", directory=tmp, step=0)
                original.call("evaluate", **evaluate)
        prefix = None
        for s in range(1, stage + 1) if train_steps else ():
            log(f"The original code trains stage {s} ({train_steps} steps).")
            # Reference: docs/original.md#stages-per-command
            # A fresh process per stage, as the original's scripts run one
            # `main.py -train_seq=s` per stage.
            with OriginalProcess(original_code, work) as original:
                original.call("build", stage=s, **build)
                if prefix is None:
                    _copy_checkpoint(original.call("save", directory=work,
                                                   step=0)["prefix"],
                                     os.path.join(tmp, "0"))
                else:
                    original.call("restore", prefix=prefix)
                # Seeded random binary batches and noise for each step.
                batches = continuation.make_batches(network, s, train_steps,
                                                    batch, seed)
                path = spec.save_arrays(os.path.join(work, "batches.npz"),
                                        batches)
                record = original.call("train", batches=path, out=os.path.join(
                    work, "record.npz"))["file"]
                spec.save_arrays(os.path.join(tmp, f"train_stage{s}.npz"),
                                 {**batches, **spec.load_arrays(record)})
                prefix = original.call("save", directory=tmp,
                                       step=train_steps)["prefix"]
                _copy_checkpoint(prefix, os.path.join(tmp, str(s)))
                if s == stage:
                    original.call("evaluate", **evaluate)
        about = {"network": dataclasses.asdict(network),
                 "recipe": dataclasses.asdict(recipe), "stage": stage,
                 "seed": seed, "alphas": alphas, "batch": batch,
                 "train_steps": train_steps, "state_elements": elements,
                 "images": dataset or "random binary",
                 "graph_rewrites": rewrites,
                 "made_by": "the original code, python -m provlae_tf.compare "
                            "--write_fixture"}
        with open(os.path.join(tmp, FIXTURE_FILE), "w") as f:
            json.dump(about, f, indent=1)
    return out_dir


@dataclasses.dataclass
class Fixture:
    """A fixture directory, read."""

    directory: str
    network: spec.Network
    recipe: spec.Recipe
    stage: int
    alphas: list
    train_steps: int
    elements: int

    @classmethod
    def load(cls, directory: str) -> "Fixture":
        with open(os.path.join(directory, FIXTURE_FILE)) as f:
            about = json.load(f)
        return cls(directory, spec.Network(**about["network"]),
                   spec.Recipe(**about["recipe"]), about["stage"],
                   about["alphas"], about["train_steps"],
                   about["state_elements"])

    @property
    def inputs(self) -> spec.Inputs:
        return spec.Inputs.load(os.path.join(self.directory, "inputs.npz"))

    def result(self, alpha: float) -> dict:
        return spec.load_arrays(spec.result_path(self.directory, self.stage,
                                                 alpha))


def _our_side(fixture: Fixture, exact_zero_branches: bool):
    from provlae_tf.compare.ours import OurSide
    from provlae_tf.config import ModelConfig
    network = fixture.network
    return OurSide(ModelConfig(network.architecture, network.z_dim,
                               network.channels), fixture.recipe,
                   exact_zero_branches)


def parity_rows(directory: str, tolerance: float = 1e-5,
                exact_zero_branches: bool = False) -> list[table.Row]:
    """Our results on a fixture's checkpoint against the original's."""
    from provlae_tf.convert import tf1
    fixture = Fixture.load(directory)
    ours = _our_side(fixture, exact_zero_branches)
    ours.import_original(tf1.latest_prefix(directory))
    inputs, rows = fixture.inputs, []
    for alpha in fixture.alphas:
        rows += table.compare(
            ours.evaluate(inputs, fixture.stage, alpha, fixture.elements),
            fixture.result(alpha), fixture.stage, alpha, tolerance,
            learning_rate=fixture.recipe.learning_rate)
    return rows


def continuation_rows(directory: str, tolerance: float = 1e-5,
                      exact_zero_branches: bool = False) -> list[table.Row]:
    """Our training continuing the fixture's original run at every stage.

    For each stage s, our model and optimizer start from the original's
    state before it (``<s-1>/``), take the same steps (batches, noise,
    alphas) and are compared with the losses the original fetched at each
    step (rows ``train: <loss>``, all steps at once) and with its state
    after the stage (``<s>/``).
    """
    import tensorflow as tf

    from provlae_tf.convert import tf1
    fixture = Fixture.load(directory)
    ours = _our_side(fixture, exact_zero_branches)
    rows = []
    for stage in range(1, fixture.stage + 1):
        ours.import_original(tf1.latest_prefix(os.path.join(
            directory, str(stage - 1))))
        record = spec.load_arrays(os.path.join(directory,
                                               f"train_stage{stage}.npz"))
        mine = ours.train(record, record["fade_in"], stage)
        theirs = {f"train: {k}": record[k] for k in mine}
        after = tf1.latest_prefix(os.path.join(directory, str(stage)))
        reader = tf.train.load_checkpoint(after)
        theirs.update({spec.STATE + name: reader.get_tensor(name) for name
                       in reader.get_variable_to_shape_map()})
        rows += table.compare({**{f"train: {k}": v for k, v in mine.items()},
                               **ours.state()}, theirs, stage, None,
                              tolerance, state_label="after stage",
                              z_dim=fixture.network.z_dim)
    return rows
