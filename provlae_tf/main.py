"""Command-line entry point: ``python -m provlae_tf.main [--flagfile=flags/X.cfg]``.

The only module that reads ``FLAGS``. Every check that can refuse the
command runs before anything is written.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys

from absl import app, flags, logging

from provlae_tf import config as config_lib
from provlae_tf.errors import Interrupted, UserError
from provlae_tf.fileio import (check_writable_directory, describe_os_error,
                               is_write_error)
from provlae_tf.flags import define_flags, one_line_parser

FLAGS = flags.FLAGS
define_flags(FLAGS)


def train(config: config_lib.RunConfig) -> None:
    """Validates, writes config.json, and trains (resuming if possible)."""
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
    config = _with_original(config)
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
        _stop_gracefully_on_signals(trainer)
        try:
            trainer.run()
        finally:
            log.close()
        log.line(f"Done: {config.checkpoint_dir}")


def _initialiser(config: config_lib.RunConfig):
    """Starts a run without a checkpoint from ``--init_from``, if given."""
    if not config.init_from:
        return None
    from provlae_tf.convert.runs import initialise_from_original

    def initialise(model, optimizer, state) -> str:
        return initialise_from_original(config, model, optimizer, state)
    return initialise


def _with_original(config: config_lib.RunConfig) -> config_lib.RunConfig:
    """Recognises an original TF1 run directory (in place or --init_from),
    and prints how the dataset was chosen when --dataset did not choose it."""
    from provlae_tf.convert import runs, tf1
    run_dir = config.checkpoint_dir
    saved = config_lib.load_run_config(run_dir)
    init_from = (config.init_from or (saved.init_from if saved else "")
                 or (run_dir if os.path.isdir(run_dir)
                     and tf1.is_original_directory(run_dir) else ""))
    values, explicit = config_lib.flag_request(FLAGS)
    if not init_from:
        notice = config_lib.dataset_notice(
            *config_lib.choose_dataset(values, explicit))
    else:
        config, notice = runs.resolve_original(
            {**values, "checkpoint_dir": run_dir, "init_from": init_from},
            explicit)
    if notice:
        print(notice)
    return config


# Reference: docs/original.md#resume
def _stop_gracefully_on_signals(trainer) -> None:
    """First Ctrl-C / SIGTERM: finish the step, save, exit. Second: abort."""
    def request_stop(signum, frame):
        del frame
        if trainer.stop_requested:
            signal.signal(signum, signal.SIG_DFL)
            raise KeyboardInterrupt
        trainer.stop_requested = True
        print("\nStopping after this step (again to abort)...", file=sys.stderr)
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)


# Reference: docs/original.md#gpu-usage
def _configure_devices(gpu_usage: float) -> None:
    if gpu_usage >= 1.0:
        return  # (and TensorFlow is not loaded yet, so bad input answers fast)
    import tensorflow as tf
    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    # TensorFlow's Python INFO lines (checkpoint sharding...) drown the
    # progress bar; warnings and errors still show.
    logging.set_verbosity(logging.WARNING)
    try:
        config = config_lib.from_flags(FLAGS)
        _configure_devices(config.gpu_usage)
        if config.mode == "train":
            from provlae_tf.train import distribute
            distribute.configure_devices(config.train)
        if config.mode == "train":
            train(config)
        else:
            from provlae_tf import modes
            evaluate = (modes.visualize if config.mode == "visualize"
                        else modes.metrics)
            evaluate(config, dataset_given=FLAGS["dataset"].present > 0)
    except UserError as e:
        print(f"provlae_tf: {e}", file=sys.stderr)
        sys.exit(130 if isinstance(e, Interrupted) else 1)
    except OSError as e:  # a full disk outside the checkpoints (log, images)
        if not is_write_error(e):
            raise
        print(f"provlae_tf: {e.filename or FLAGS.checkpoint_dir}: could not "
              f"write it ({describe_os_error(e)}). Free disk space or fix the "
              "permissions, then rerun the same command: it resumes from the "
              "last checkpoint.", file=sys.stderr)
        sys.exit(1)


# A bad flag is one line, like every other bad input.
_parse_flags = one_line_parser(FLAGS, "provlae_tf")


def run() -> None:
    """Console-script entry point (``provlae-tf``)."""
    app.run(main, flags_parser=_parse_flags)


if __name__ == "__main__":
    run()
