"""Notebook-level helpers: load a trained model from a run directory."""

from __future__ import annotations

import os
from typing import Optional

import tensorflow as tf

from provlae_tf.config import RunConfig, load_run_config
from provlae_tf.convert import runs, tf1
from provlae_tf.errors import UserError
from provlae_tf.model.build import build_model
from provlae_tf.model.ladder import ProVLAE
from provlae_tf.train import checkpoints


# Reference: docs/original.md#evaluation-stage
def load_checkpoint(path: str, stage: Optional[int] = None,
                    restore: str = "strict") -> tuple[ProVLAE, RunConfig]:
    """Loads the model of a provlae_tf run directory.

    Args:
        path: a run directory (``--checkpoint_dir`` of a training run), or a
            directory of the original TF1 code (recognised by its
            ``checkpoint`` state file; its latest checkpoint is loaded).
        stage: load the snapshot taken when that stage finished; default the
            latest checkpoint. Required for original directories, which do
            not record their stage (the ``--train_seq`` that wrote them).
        restore: original directories: ``"strict"`` (every variable mapped)
            or ``"optimistic"`` (the original's fallback: what matches by
            name and shape, the rest left at its initialisation).

    Returns:
        ``(model, config)``; the model's stage is the checkpoint's stage.

    Raises:
        UserError: no run or no such checkpoint in ``path``.
    """
    if tf1.is_original_directory(path):
        return runs.load_original(path, stage, restore)
    config = load_run_config(path)
    if config is None:
        raise UserError(f"{path}: no config.json; expected a provlae_tf run "
                        "directory (the --checkpoint_dir of a training run).")
    if stage is None:
        # The checkpoint a rerun would resume from (a stage snapshot when
        # the rolling ones were moved aside after damage).
        prefix = checkpoints.latest_checkpoint(path)
    else:
        prefix = os.path.join(checkpoints.stage_snapshot_dir(path, stage),
                              checkpoints.CHECKPOINT_NAME)
        if not tf.io.gfile.exists(prefix + ".index"):
            prefix = None
    if prefix is None:
        what = "checkpoint" if stage is None else f"snapshot of stage {stage}"
        raise UserError(f"{path}: no {what} yet; train first.")
    model = build_model(config.model, stage=checkpoints.read_stage(prefix))
    tf.train.Checkpoint(model=model).restore(prefix) \
        .expect_partial().assert_existing_objects_matched()
    return model, config
