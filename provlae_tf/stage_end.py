"""What a training run writes when a stage ends, besides its checkpoints.

As the original's training does, the traversal and resampling grids of the
stage (files and TensorBoard); and, for the paper's picture of progressive
learning, the training curves and the information flow (KL and I(x; z_l)
per ladder) so far. The trainer receives these as actions from
:mod:`provlae_tf.main`, so it depends on neither the metrics nor the
figures.
"""

from __future__ import annotations

from typing import Callable

from provlae_tf import run_files
from provlae_tf.config import RunConfig
from provlae_tf.train.trainer import StageEnd


# Reference: docs/original.md#stage-end-images
def stage_end_actions(config: RunConfig) -> list[Callable[[StageEnd], None]]:
    """The stage-end actions of a run with ``config``."""
    actions = [lambda end: write_stage_images(config, end)]
    if config.eval.info_images:
        actions.append(lambda end: record_information_flow(config, end))
    return actions


# Reference: docs/original.md#stage-end-images
def write_stage_images(config: RunConfig, end: StageEnd) -> None:
    """The stage's traversal and resampling grids, and the training curves."""
    from provlae_tf import viz
    from provlae_tf.viz import plots
    run_dir = config.checkpoint_dir
    viz.write_stage_end(end.model, end.source,
                        run_files.path(run_dir, run_files.IMAGES), end.stage,
                        seed=config.train.seed,
                        summary_writer=end.run_log.writer,
                        step=end.global_step)
    end.run_log.writer.flush()
    plots.plot_training_curves(
        plots.read_training_records(
            run_files.path(run_dir, run_files.TENSORBOARD)),
        run_files.path(run_dir, run_files.IMAGES, "training_curves.png"))


def record_information_flow(config: RunConfig, end: StageEnd) -> None:
    """Adds the stage's KL and I(x; z_l) to information.json; redraws the plot."""
    from provlae_tf.evaluation import information_flow
    from provlae_tf.viz import information_flow as information_plot
    records = information_flow.record_stage(
        end.model, end.source, config.checkpoint_dir, end.stage,
        num_images=config.eval.info_images,
        num_samples=config.eval.info_samples, seed=config.train.seed)
    information_plot.plot_information(
        records, run_files.path(config.checkpoint_dir, run_files.IMAGES,
                                information_plot.PLOT_FILE))
