"""One comparison: a checkpoint, the original's graph and our model.

The original's side runs in a child process (:mod:`.child`) while this
process computes ours, stage by stage; the child is sent all its work at
once and answers in order.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Optional

import numpy as np

from provlae_tf.compare import spec, table
from provlae_tf.compare.child import OriginalProcess
from provlae_tf.config import ModelConfig, load_run_config
from provlae_tf.convert import runs, tf1
from provlae_tf.datasets import DATASETS
from provlae_tf.errors import UserError
from provlae_tf.train import checkpoints


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """What is compared.

    Attributes:
        prefix: the TF1 checkpoint the original restores.
        network: its shape.
        model_config: our model's configuration.
        run_prefix: for one of our runs, its own checkpoint, which our side
            loads (the original gets the export of it, ``prefix``); None for
            an original directory (both sides load ``prefix``).
        stage: the stage our run recorded (None for an original directory,
            which does not record it).
        recipe: our run's training settings (None for an original one).
        description: for people.
    """

    prefix: str
    network: spec.Network
    model_config: ModelConfig
    run_prefix: Optional[str] = None
    stage: Optional[int] = None
    recipe: Optional[spec.Recipe] = None
    description: str = ""


def resolve_checkpoint(directory: str, workdir: str) -> Checkpoint:
    """An original TF1 directory as it is, or one of our runs exported to
    the original layout under ``workdir`` with our exporter.

    Raises:
        UserError: neither, or unreadable.
    """
    if not os.path.isdir(directory):
        raise UserError(f"--checkpoint_dir={directory}: no such directory.")
    if tf1.is_original_directory(directory):
        prefix = tf1.latest_prefix(directory)
        info = tf1.inspect(prefix)
        network = spec.Network(info.architecture, info.z_dim, info.channels)
        return Checkpoint(prefix, network, ModelConfig(
            info.architecture, info.z_dim, info.channels),
            description=f"original checkpoint {prefix}")
    config = load_run_config(directory)
    if config is None:
        raise UserError(f"--checkpoint_dir={directory}: neither a directory "
                        "of the original code (a TF1 'checkpoint' file) nor "
                        "a provlae_tf run (config.json).")
    if config.model.kind == "beta_vae":
        raise UserError(f"--checkpoint_dir={directory}: a beta-VAE run; the "
                        "original code has no beta-VAE to compare with.")
    run_prefix = checkpoints.latest_checkpoint(directory)
    if run_prefix is None:
        raise UserError(f"--checkpoint_dir={directory}: no checkpoint yet; "
                        "train first.")
    prefix = runs.run_to_original(directory, os.path.join(workdir, "tf1"))
    model = config.model
    train = config.train
    recipe = spec.Recipe(train.beta, train.coff, train.pre_kl,
                         train.fade_in, train.learning_rate,
                         train.fade_in_duration)
    return Checkpoint(prefix, spec.Network(model.architecture, model.z_dim,
                                           model.channels),
                      model, run_prefix, checkpoints.read_stage(run_prefix),
                      recipe, f"provlae_tf run {run_prefix} (exported to the "
                      "original layout)")


def recipe_of(dataset: Optional[str]) -> spec.Recipe:
    """The ``dataset``'s recipe, or dSprites' when None."""
    values = DATASETS[dataset or "dsprites"].recipe
    return spec.Recipe(values["beta"], values["coff"], values["KL"],
                       values["fadein"])


def make_inputs(network: spec.Network, batch: int, seed: int,
                dataset: Optional[str] = None, data_dir: str = "data",
                log: Callable[[str], None] = print) -> spec.Inputs:
    """``batch`` seeded images (of ``dataset`` through our loaders, or
    random binary ones) and seeded noise."""
    if dataset is None:
        x = spec.random_images(batch, network.channels, seed)
    else:
        x = dataset_images(dataset, network, data_dir, log)(
            np.random.default_rng(seed), batch)
    return spec.Inputs(x, spec.random_noise(len(x), network, seed))


def dataset_images(dataset: str, network: spec.Network, data_dir: str,
                   log: Callable[[str], None] = print
                   ) -> Callable[[np.random.Generator, int], np.ndarray]:
    """A function drawing ``count`` images of ``dataset`` (sorted indices
    without replacement, at most the dataset's size) with ``rng``, scaled
    to [0, 1] as training scales them.

    Raises:
        UserError: the dataset's images do not fit the network's channels.
    """
    channels = DATASETS[dataset].channels
    if channels != network.channels:
        raise UserError(f"--dataset={dataset}: {channels}-channel images, "
                        "but the checkpoint's network has "
                        f"{network.channels}.")
    from provlae_tf.data.registry import load_source
    source = load_source(dataset, data_dir, log=log)

    def draw(rng: np.random.Generator, count: int) -> np.ndarray:
        indices = np.sort(rng.choice(source.num_examples,
                                     min(count, source.num_examples),
                                     replace=False))
        return (source.images(indices).astype(np.float32)
                / np.float32(source.max_value))
    return draw


@dataclasses.dataclass(frozen=True)
class Settings:
    """How to compare (see ``python -m provlae_tf.compare --help``)."""

    stages: tuple
    recipe: spec.Recipe
    fade_alpha: float = 0.3
    tolerance: float = 1e-5
    step_tolerance: float = 1e-4
    restore: str = "strict"
    elements: int = 0
    exact_zero_branches: bool = False
    rewrites: bool = True
    seed: int = 0


def compare(original_code: str, checkpoint: Checkpoint, inputs: spec.Inputs,
            settings: Settings, workdir: str) -> list[table.Row]:
    """Rows of differences for every stage and alpha of ``settings``."""
    from provlae_tf.compare.ours import OurSide
    inputs_path = inputs.save(os.path.join(workdir, "inputs.npz"))
    results = os.path.join(workdir, "results")
    os.makedirs(results, exist_ok=True)
    rows = []
    with OriginalProcess(original_code, workdir) as original:
        for stage in settings.stages:
            original.submit("build", original_code=original_code,
                            network=dataclasses.asdict(checkpoint.network),
                            recipe=dataclasses.asdict(settings.recipe),
                            stage=stage, seed=settings.seed,
                            rewrites=settings.rewrites,
                            # What an optimistic restore leaves out keeps
                            # its initial value, as in the original.
                            initialise=settings.restore == "optimistic")
            original.submit("restore", prefix=checkpoint.prefix,
                            mode=settings.restore)
            original.submit("evaluate", inputs=inputs_path, stage=stage,
                            alphas=spec.alphas_for(stage, settings.fade_alpha),
                            out_dir=results, elements=settings.elements,
                            keep_state=False)  # the next stage restores
        ours = OurSide(checkpoint.model_config, settings.recipe,
                       settings.exact_zero_branches)
        ours.load(checkpoint, settings.restore)
        for stage in settings.stages:
            files = None
            for i, alpha in enumerate(spec.alphas_for(stage,
                                                      settings.fade_alpha)):
                mine = ours.evaluate(inputs, stage, alpha, settings.elements)
                if files is None:
                    original.result()  # build
                    original.result()  # restore
                    files = original.result()["files"]
                theirs = spec.load_arrays(files[i])
                os.remove(files[i])
                rows += table.compare(
                    mine, theirs, stage, alpha, settings.tolerance,
                    learning_rate=settings.recipe.learning_rate,
                    step_tolerance=settings.step_tolerance)
    return rows
