"""Converts checkpoints between the original TF1 layout and provlae_tf runs.

    # one of our runs -> an original-layout TF1 checkpoint directory
    python -m provlae_tf.convert --to=tf1 --checkpoint_dir=runs/dsprites --out_dir=tf1_out
    # an original run directory -> a new provlae_tf run directory
    python -m provlae_tf.convert --to=tf2 --checkpoint_dir=orig --train_seq=2 --out_dir=runs/from_orig

Nothing is written unless the whole conversion succeeds.
"""

from __future__ import annotations

import sys

from absl import app, flags, logging

from provlae_tf import native_log
from provlae_tf.errors import UserError
from provlae_tf.fileio import check_new_directory
from provlae_tf.flags import default_values, define_flags

FLAGS = flags.FLAGS
# The directory, the stage (--to=tf2: the stage the original run trained; its
# checkpoint does not record it), the dataset (--to=tf2; default: as in
# training from an original directory, the original's rule on the
# directories' names, else a guess from the checkpoint; its recipe fills the
# recipe flags), the variable matching and Adam's betas (which tell the step
# count from the stored beta powers) mean what they mean for training.
_SHARED_FLAGS = ("checkpoint_dir", "train_seq", "dataset", "restore",
                 "adam_beta1", "adam_beta2")
define_flags(FLAGS, names=_SHARED_FLAGS)
flags.DEFINE_enum("to", None, ("tf1", "tf2"),
                  "tf1: write one of our runs in the original layout; tf2: "
                  "make a provlae_tf run of an original checkpoint.")
flags.DEFINE_string("out_dir", None, "The new directory to write (absent or "
                    "empty).")
flags.mark_flags_as_required(["to", "checkpoint_dir", "out_dir"])


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.WARNING)
    try:
        check_new_directory(FLAGS.out_dir)  # before loading TensorFlow
        from provlae_tf.convert import runs
        if FLAGS.to == "tf1":
            prefix = runs.run_to_original(FLAGS.checkpoint_dir, FLAGS.out_dir)
            print(f"Wrote the original-layout checkpoint {prefix}")
        else:
            if not FLAGS.train_seq.isdigit():
                raise UserError(f"--train_seq={FLAGS.train_seq}: expected the"
                                " stage the original run trained (a number;"
                                " the checkpoint does not record it).")
            stage = int(FLAGS.train_seq)
            # Training's flags at their defaults, the converter's as given:
            # the new run is --checkpoint_dir, started from the original.
            values = {**default_values(),
                      **{name: FLAGS[name].value for name in _SHARED_FLAGS},
                      "checkpoint_dir": FLAGS.out_dir,
                      "init_from": FLAGS.checkpoint_dir}
            explicit = {name for name in _SHARED_FLAGS if FLAGS[name].present}
            config, notice = runs.original_to_run(values, explicit)
            if notice:
                print(notice)
            print(f"Wrote the provlae_tf run {FLAGS.out_dir} (dataset "
                  f"{config.data.dataset}, end of stage {stage}); "
                  f"continue it with --checkpoint_dir={FLAGS.out_dir} "
                  f"--train_seq={stage + 1}.")
    except UserError as e:
        print(f"provlae_tf.convert: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    native_log.quiet_tensorflow_startup()
    app.run(main)
