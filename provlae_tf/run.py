"""The library's entry points: train, visualise or score a run, from a config.

    from provlae_tf.config import RunConfig, DataConfig, TrainConfig
    from provlae_tf.run import train, visualize, metrics
    config = RunConfig("runs/mine", data=DataConfig("dsprites", max_examples=2048),
                       train=TrainConfig(epochs_per_stage=1, batch_size=64))
    train(config)                      # python -m provlae_tf.main
    visualize(config)                  # --mode=2
    metrics(config)                    # --mode=3

Everything they need is in the :class:`~provlae_tf.config.RunConfig`;
``python -m provlae_tf.main`` only parses the flags into one
(:func:`resolve`), configures the devices and maps errors to exit codes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any, Callable, Collection, Mapping

from provlae_tf import config as config_lib
from provlae_tf.config import RunConfig
from provlae_tf.fileio import check_writable_directory
from provlae_tf.modes import metrics, visualize

__all__ = ["resolve", "train", "visualize", "metrics"]

Log = Callable[[str], None]


# Reference: docs/original.md#dataset-choice
def resolve(values: Mapping[str, Any], explicit: Collection[str],
            log: Log = print) -> RunConfig:
    """The configuration of a command line (flag values and the flags the
    user set), with an original TF1 directory read as the original would.

    An original directory (``--checkpoint_dir`` itself, ``--init_from``, or
    the ``init_from`` a run of ours was started from) decides the dataset by
    the original's rule on its name, else a guess from its checkpoint, and
    the model's shape from its checkpoint; the dataset's recipe fills the
    recipe flags left unset. One line says how the dataset was chosen when
    ``--dataset`` did not choose it.
    """
    from provlae_tf.convert import runs, tf1
    config = config_lib.build_config(values, explicit)
    run_dir = config.checkpoint_dir
    in_place = os.path.isdir(run_dir) and tf1.is_original_directory(run_dir)
    saved = None if in_place else config_lib.load_run_config(run_dir)
    if config.mode != "train":
        if in_place:  # --mode=2/3 on an original directory
            info = tf1.inspect(tf1.latest_prefix(run_dir))
            dataset, notice = runs.original_dataset(values, explicit, info)
            if notice:
                log(notice)
            config = config_lib.build_config({**values, "dataset": dataset},
                                             {*explicit, "dataset"})
        return config
    init_from = (config.init_from or (saved.init_from if saved else "")
                 or (run_dir if in_place else ""))
    if not init_from:
        notice = config_lib.dataset_notice(
            *config_lib.choose_dataset(values, explicit))
    else:
        # Without --checkpoint_dir, the default (runs/<dataset>) follows
        # the dataset the original directory resolves to.
        config, notice = runs.resolve_original(
            {**values, "checkpoint_dir": values["checkpoint_dir"]
             or (run_dir if in_place else None), "init_from": init_from},
            explicit)
    if notice:
        log(notice)
    return config


def train(config: RunConfig) -> None:
    """Trains ``config`` (resuming its run directory if it has one).

    Checks the directory, writes ``config.json``, trains the stages of
    ``config.train.train_seq`` and writes the stage-end outputs. While it
    runs, Ctrl-C or SIGTERM finish the current step, save and stop (a
    second one aborts); the previous handlers come back afterwards.

    Raises:
        UserError: anything the user can fix (one line).
        Interrupted: stopped by a signal, after saving.
    """
    check_writable_directory(config.checkpoint_dir)
    # Imported here so that flag and directory errors come back without
    # loading TensorFlow.
    from provlae_tf.data import pipeline
    from provlae_tf.data.registry import load_source
    from provlae_tf.stage_end import stage_end_actions
    from provlae_tf.train import checkpoints, distribute, run_directory
    from provlae_tf.train.run_log import RunLog
    from provlae_tf.train.trainer import Trainer

    # Before anything else runs TensorFlow: a multi-worker strategy sets up
    # collective ops, which must precede the runtime's start.
    distribute.check_mixed_precision(config.train)
    strategy = distribute.make_strategy(config.train)
    chief = distribute.is_chief(strategy)
    # The chief checks the run directory (and refuses for every worker: the
    # others then stop at their first step); another worker could catch
    # config.json half-written by the chief.
    previous = run_directory.check_run_directory(config) if chief else None
    source = load_source(config.data.dataset, config.data.data_dir,
                         config.data.max_examples, config.train.seed)
    pipeline.steps_per_epoch(source.num_examples, config.train.batch_size)
    stages = config.train.stages(config.model.num_ladders)
    completed = checkpoints.read_completed_stages(config.checkpoint_dir)
    # Reference: docs/original.md#start-at-any-stage
    if completed is None:  # nothing of ours yet: start at the first stage
        # (from an original checkpoint, which counts as stage k-1, or fresh)
        completed = stages[0] - 1
        if config.init_from:
            from provlae_tf.convert.runs import check_importable
            check_importable(config)
    run_directory.check_stage_order(stages, completed, config.checkpoint_dir)

    # Only the chief writes the run directory (config.json, log,
    # TensorBoard, images); another worker writes the same into a
    # temporary directory that is removed at the end.
    with distribute.write_directory(config.checkpoint_dir, chief) as out:
        changes = (run_directory.write_config(config, previous) if chief
                   else [])
        log = RunLog(out, config.log_file, quiet=not chief)
        if changes:
            log.line("Continuing with changed training flags: "
                     + "; ".join(changes))
        trainer = Trainer(config, source, log,
                          initialise=_initialiser(config),
                          stage_end=stage_end_actions(config) if chief
                          else (), strategy=strategy, write_dir=out,
                          chief=chief)
        try:
            with _stop_gracefully_on_signals(trainer):
                trainer.run()
        finally:
            log.close()
        log.line(f"Done: {config.checkpoint_dir}")


def _initialiser(config: RunConfig):
    """Starts a run without a checkpoint from ``--init_from``, if given."""
    if not config.init_from:
        return None
    from provlae_tf.convert.runs import initialise_from_original

    def initialise(model, optimizer, state) -> str:
        return initialise_from_original(config, model, optimizer, state)
    return initialise


# Reference: docs/original.md#resume
@contextlib.contextmanager
def _stop_gracefully_on_signals(trainer):
    """First Ctrl-C / SIGTERM: finish the step, save, exit. Second: abort.

    Only in the main thread (Python delivers signals there; elsewhere the
    handlers cannot be installed and the defaults stay).
    """
    def request_stop(signum, frame):
        del frame
        if trainer.stop_requested:
            signal.signal(signum, signal.SIG_DFL)
            raise KeyboardInterrupt
        trainer.stop_requested = True
        print("\nStopping after this step (again to abort)...", file=sys.stderr)

    try:
        previous = {s: signal.signal(s, request_stop)
                    for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        previous = {}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
