"""Command-line entry point: ``python -m provlae_tf.main [--flagfile=flags/X.cfg]``.

The only module that reads ``FLAGS``: it parses them into a
:class:`~provlae_tf.config.RunConfig`, configures the devices, calls the
library (:mod:`provlae_tf.run`) and turns errors into one line and an exit
code. Every check that can refuse the command runs before anything is
written.
"""

from __future__ import annotations

import sys

from absl import app, flags, logging

from provlae_tf import config as config_lib
from provlae_tf import native_log
from provlae_tf.errors import Interrupted, UserError
from provlae_tf.fileio import describe_os_error, is_write_error
from provlae_tf.flags import define_flags, one_line_parser

FLAGS = flags.FLAGS
define_flags(FLAGS)


# Reference: docs/original.md#gpu-usage
def _configure_devices(config: config_lib.RunConfig) -> None:
    """GPU memory growth (--gpu_usage below 1) and logical CPU devices,
    which TensorFlow accepts only before its runtime starts."""
    if config.gpu_usage < 1.0:
        import tensorflow as tf
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
    if config.mode == "train":
        from provlae_tf.train import distribute
        distribute.configure_devices(config.train)


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    # TensorFlow's Python INFO lines (checkpoint sharding...) drown the
    # progress bar; warnings and errors still show.
    logging.set_verbosity(logging.WARNING)
    try:
        values, explicit = config_lib.flag_request(FLAGS)
        # Checked without TensorFlow, so that bad flags answer at once.
        config = config_lib.build_config(values, explicit)
        _configure_devices(config)
        from provlae_tf import run
        config = run.resolve(values, explicit)
        {"train": run.train, "visualize": run.visualize,
         "metrics": run.metrics}[config.mode](config)
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
    native_log.quiet_tensorflow_startup()
    app.run(main, flags_parser=_parse_flags)


if __name__ == "__main__":
    run()
