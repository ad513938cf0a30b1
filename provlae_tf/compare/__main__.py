"""Compares provlae_tf with the original pro-VLAE code, run live.

    # an original checkpoint directory, stages 1..2
    python -m provlae_tf.compare --original_code=../proVLAE \\
        --checkpoint_dir=checkpoints/dsprite_progress_z2 --train_seq=2
    # one of our runs (exported to the original layout on the fly)
    python -m provlae_tf.compare --original_code=../proVLAE \\
        --checkpoint_dir=runs/dsprites --json=compare.json
    # both continue one of our runs for 30 steps of stage 3 on 3D Shapes
    # batches of 100: does the original diverge where ours does?
    python -m provlae_tf.compare --original_code=../proVLAE \\
        --checkpoint_dir=runs/3dshapes --train_seq=3 --continue_steps=30 \\
        --dataset=3dshapes --batch=100
    # record what the original computes, for parity tests
    python -m provlae_tf.compare --original_code=../proVLAE \\
        --write_fixture=fixtures/small_s3 --architecture=small \\
        --train_seq=3 --train_steps=2

The original's model module is imported from --original_code in a child
process, under tf.compat.v1; this process runs our model. For every stage
1..--train_seq, at alpha 1 and at --fade_alpha, both get the same
checkpoint, images and noise, and the table shows, per tensor, the largest
absolute difference and that difference relative to the original tensor's
largest magnitude: the posterior means and log-variances of every ladder,
the logits decoded from the means, the loss terms, the losses after one
Adam step, its gradients, and every variable, Adam slot and beta power
after it. Exit status: 0 when every row is within its tolerance
(--tolerance; --step_tolerance for the gradients and Adam slots), 1 when
one is not, 2 when the comparison could not be made (one line on stderr
says why).

With --continue_steps=N both sides instead continue the checkpoint at stage
--train_seq for N training steps on the same batches and noise (the
stage's fade-in counter from 0), and the table shows each step's total
loss on both sides and where either first becomes NaN or infinite. Exit
status 0 when both diverge at the same step (or neither does) and the
losses before it agree within --continue_tolerance.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import sys
import tempfile
import time
from typing import Optional

from absl import flags

from provlae_tf import native_log
from provlae_tf.compare.child import OriginalFailed, check_original_code
from provlae_tf.config import ARCHITECTURES
from provlae_tf.datasets import DATASET_NAMES, DATASETS
from provlae_tf.errors import UserError

PREFIX = "provlae_tf.compare"
# Its own flags (not absl's global FLAGS), so that tests can run it in a
# process where provlae_tf.main's flags of the same names exist.
FLAGS = flags.FlagValues()
_F = dict(flag_values=FLAGS)
flags.DEFINE_string("original_code", None, "Directory of a checkout of the "
                    "original code (github.com/Zhiyuan1991/proVLAE).", **_F)
flags.DEFINE_string("checkpoint_dir", None, "An original TF1 checkpoint "
                    "directory, or a provlae_tf run directory.", **_F)
flags.DEFINE_integer("train_seq", None, "Compare stages 1..train_seq (an "
                     "original directory does not record its stage; "
                     "default for a provlae_tf run: its stage). With "
                     "--write_fixture: the stage of the fixture.", **_F)
flags.DEFINE_float("tolerance", 1e-5, "Largest relative difference "
                   "(max|ours - orig| / max|orig|) that passes.", **_F)
flags.DEFINE_float("step_tolerance", 1e-4, "Largest relative difference "
                   "that passes for the step's gradients and Adam slots: "
                   "sums over the batch and feature maps, whose rounding "
                   "depends on each kernel's summation order (the table's "
                   "note says more).", **_F)
flags.DEFINE_string("json", None, "Also write the table to this JSON file.",
                    **_F)
flags.DEFINE_enum("dataset", None, DATASET_NAMES, "Images of this dataset "
                  "(through provlae_tf's loaders; the embedded procedural "
                  "data when its files are absent) and its recipe's "
                  "defaults. Default: seeded random binary images and the "
                  "dSprites recipe.", **_F)
flags.DEFINE_string("data_dir", "data", "Where --dataset's files live.", **_F)
flags.DEFINE_integer("seed", 0, "Seed of the images, the noise and (with "
                     "--write_fixture) the original's initialisation.", **_F)
flags.DEFINE_integer("batch", 16, "Images fed to both sides.", **_F)
flags.DEFINE_enum("restore", "strict", ("strict", "optimistic"), "strict: every "
                  "variable must match; optimistic: load what matches by "
                  "name and shape, on both sides (the original's fallback).",
                  **_F)
flags.DEFINE_float("beta", None, "KL weight of the active ladders (default: "
                   "the run's or the recipe's).", **_F)
flags.DEFINE_float("coff", None, "KL weight of the inactive ladders with "
                   "--KL (default: the run's or the recipe's).", **_F)
flags.DEFINE_boolean("KL", None, "Pre-KL on the inactive ladders (default: "
                     "the run's or the recipe's).", **_F)
flags.DEFINE_boolean("fadein", None, "Fade-in of new ladders (default: the "
                     "run's or the recipe's).", **_F)
flags.DEFINE_float("learning_rate", None, "Adam's learning rate (default: "
                   "the run's, else 5e-4).", **_F)
flags.DEFINE_float("fade_alpha", 0.3, "The fade-in alpha compared besides "
                   "1 from stage 2 on.", **_F)
flags.DEFINE_integer("state_elements", 0, "Compare the variables after the "
                     "step at this many seeded positions per tensor (0: "
                     "every element).", **_F)
flags.DEFINE_boolean("exact_zero_branches", False, "Our side computes the "
                     "inactive ladders' zero-multiplied branches (by "
                     "default it skips them, as training does).", **_F)
flags.DEFINE_boolean("graph_rewrites", True, "Let Grappler rewrite the "
                     "original's graph, as TensorFlow does by default "
                     "(--nograph_rewrites starts faster).", **_F)
flags.DEFINE_integer("continue_steps", 0, "Instead of the one-step table, "
                     "continue the checkpoint at stage --train_seq for this "
                     "many training steps on both sides (same batches of "
                     "--batch images, same noise) and show each step's "
                     "loss and where either side diverges.", **_F)
flags.DEFINE_float("continue_tolerance", 5e-2, "--continue_steps: largest "
                   "relative difference of a step's total loss that "
                   "passes; rounding differences grow over many steps, "
                   "most through loss spikes (measured up to 8.2e-3 "
                   "through spikes to 1e14 in the 20 steps before a "
                   "divergence both sides share).", **_F)
# --- fixtures
flags.DEFINE_string("write_fixture", None, "Instead of comparing, write a "
                    "fixture made by the original code to this new "
                    "directory (see tests/README.md).", **_F)
flags.DEFINE_enum("architecture", None, ARCHITECTURES, "--write_fixture: "
                  "the network (default: the --dataset's).", **_F)
flags.DEFINE_integer("z_dim", None, "--write_fixture: latents per ladder "
                     "(default: the recipe's).", **_F)
flags.DEFINE_integer("channels", None, "--write_fixture: image channels "
                     "(default: the --dataset's).", **_F)
flags.DEFINE_integer("train_steps", 0, "--write_fixture: original training "
                     "steps per stage 1..train_seq, each stage in a fresh "
                     "process restoring the previous checkpoint (0: fresh "
                     "weights at stage train_seq).", **_F)
flags.DEFINE_integer("fade_in_duration", 5000, "--write_fixture with "
                     "--train_steps: iterations of the original's fade-in "
                     "(its constructor's default 5000).", **_F)


def _recipe(checkpoint_recipe: Optional["spec.Recipe"] = None
            ) -> "spec.Recipe":
    """The recipe of the run, else of --dataset, overridden by the flags."""
    from provlae_tf.compare import runner
    base = checkpoint_recipe or runner.recipe_of(FLAGS.dataset)
    changes = {field: FLAGS[flag].value for field, flag in (
        ("beta", "beta"), ("coff", "coff"), ("pre_kl", "KL"),
        ("fade_in", "fadein"), ("learning_rate", "learning_rate"))
        if FLAGS[flag].value is not None}
    if FLAGS["fade_in_duration"].present or checkpoint_recipe is None:
        changes["fade_in_duration"] = FLAGS.fade_in_duration
    return dataclasses.replace(base, **changes)


def _compare(workdir: str) -> int:
    """Compares --checkpoint_dir; the exit status."""
    from provlae_tf.compare import runner, table
    checkpoint = runner.resolve_checkpoint(FLAGS.checkpoint_dir, workdir)
    stage = FLAGS.train_seq if FLAGS.train_seq is not None \
        else checkpoint.stage
    num_ladders = checkpoint.network.num_ladders
    if stage is None:
        raise UserError("--train_seq: required for an original checkpoint, "
                        "which does not record its stage; compares stages "
                        "1..train_seq.")
    if not 1 <= stage <= num_ladders:
        raise UserError(f"--train_seq={stage}: expected 1..{num_ladders} "
                        f"(the checkpoint's network has {num_ladders} "
                        "ladders).")
    if FLAGS.continue_steps < 0:
        raise UserError(f"--continue_steps={FLAGS.continue_steps}: expected "
                        "a number of training steps (0: the one-step "
                        "table).")
    if FLAGS.continue_steps > 0:
        return _continue(checkpoint, stage, workdir)
    settings = runner.Settings(
        tuple(range(1, stage + 1)), _recipe(checkpoint.recipe),
        FLAGS.fade_alpha, FLAGS.tolerance, FLAGS.step_tolerance,
        FLAGS.restore,
        FLAGS.state_elements, FLAGS.exact_zero_branches,
        FLAGS.graph_rewrites, FLAGS.seed)
    inputs = runner.make_inputs(checkpoint.network, FLAGS.batch, FLAGS.seed,
                                FLAGS.dataset, FLAGS.data_dir, _note)
    images = (f"{FLAGS.dataset} (seed {FLAGS.seed})" if FLAGS.dataset
              else f"random binary (seed {FLAGS.seed})")
    about = {"original_code": os.path.abspath(FLAGS.original_code),
             "checkpoint": checkpoint.description,
             "network": checkpoint.network.describe(),
             "recipe": settings.recipe.describe(),
             "stages": list(settings.stages),
             "images": f"{images}, batch {len(inputs.x)}"}
    _print_about(about)
    start = time.perf_counter()
    rows = runner.compare(FLAGS.original_code, checkpoint, inputs, settings,
                          workdir)
    seconds = time.perf_counter() - start
    print(table.format_table(rows))
    print(table.summary(rows, FLAGS.tolerance))
    print(f"Compared in {seconds:.1f} s.")
    if FLAGS.json:
        with open(FLAGS.json, "w") as f:
            json.dump(table.to_json(rows, FLAGS.tolerance, **about,
                                    step_tolerance=FLAGS.step_tolerance,
                                    seconds=seconds), f, indent=1)
    return 0 if table.passed(rows) else 1


def _continue(checkpoint, stage: int, workdir: str) -> int:
    """Both sides continue --checkpoint_dir; the exit status."""
    from provlae_tf.compare import continuation
    recipe = _recipe(checkpoint.recipe)
    batches = continuation.make_batches(
        checkpoint.network, stage, FLAGS.continue_steps, FLAGS.batch,
        FLAGS.seed, FLAGS.dataset, FLAGS.data_dir, _note)
    images = FLAGS.dataset or "random binary"
    about = {"original_code": os.path.abspath(FLAGS.original_code),
             "checkpoint": checkpoint.description,
             "network": checkpoint.network.describe(),
             "recipe": recipe.describe(),
             "continued": f"stage {stage}, {FLAGS.continue_steps} steps of "
                          f"{FLAGS.batch} {images} images (seed {FLAGS.seed})"}
    _print_about(about)
    start = time.perf_counter()
    rows = continuation.continue_both(
        FLAGS.original_code, checkpoint, stage, recipe, batches, workdir,
        FLAGS.restore, FLAGS.graph_rewrites, FLAGS.exact_zero_branches)
    seconds = time.perf_counter() - start
    result = continuation.verdict(rows, FLAGS.continue_tolerance)
    print(continuation.format_rows(rows))
    print(continuation.describe(result, len(rows), FLAGS.continue_tolerance))
    print(f"Continued in {seconds:.1f} s.")
    if FLAGS.json:
        with open(FLAGS.json, "w") as f:
            # NaN and infinity are not JSON: null.
            json.dump({"rows": [{k: v if not isinstance(v, float)
                                 or math.isfinite(v) else None
                                 for k, v in dataclasses.asdict(r).items()}
                                for r in rows],
                       **about, **dataclasses.asdict(result),
                       "seconds": seconds},
                      f, indent=1)
    return 0 if result.passed else 1


def _write_fixture() -> int:
    """Writes --write_fixture; the exit status."""
    from provlae_tf.compare import fixture, spec
    dataset = DATASETS[FLAGS.dataset or "dsprites"]
    network = spec.Network(FLAGS.architecture or dataset.architecture,
                           FLAGS.z_dim or dataset.recipe["z_dim"],
                           FLAGS.channels or dataset.channels)
    stage = FLAGS.train_seq or network.num_ladders
    written = fixture.write_fixture(
        FLAGS.original_code, FLAGS.write_fixture, network, _recipe(), stage,
        seed=FLAGS.seed, fade_alpha=FLAGS.fade_alpha, batch=FLAGS.batch,
        train_steps=FLAGS.train_steps, elements=FLAGS.state_elements,
        dataset=FLAGS.dataset, data_dir=FLAGS.data_dir,
        rewrites=FLAGS.graph_rewrites, log=_note)
    print(f"Wrote the fixture {written} ({network.describe()}, stage "
          f"{stage}).")
    return 0


def _print_about(about: dict) -> None:
    """What is compared, one ``key: value`` line each (the JSON report
    keeps the same keys)."""
    for key, value in about.items():
        print(f"{key}: {value}")


def _note(line: str) -> None:
    print(line, file=sys.stderr)


def _parse(argv: list) -> Optional[int]:
    """Parses the flags; an exit status when there is nothing more to do."""
    if any(a in ("-h", "--help", "-help", "--helpfull") for a in argv[1:]):
        print(__doc__)
        print(FLAGS.get_help(include_special_flags=False))
        return 0
    FLAGS.unparse_flags()
    try:
        rest = FLAGS(argv)
    except flags.Error as e:
        print(f"{PREFIX}: {e}. See --help for the flags.", file=sys.stderr)
        return 2
    if len(rest) > 1:
        print(f"{PREFIX}: unexpected arguments: {' '.join(rest[1:])}",
              file=sys.stderr)
        return 2
    return None


def run(argv: list) -> int:
    """The command line ``argv`` (program name first); the exit status."""
    status = _parse(argv)
    if status is not None:
        return status
    workdir = None
    try:
        check_original_code(FLAGS.original_code)
        if FLAGS.write_fixture:
            return _write_fixture()
        if not FLAGS.checkpoint_dir:
            raise UserError("--checkpoint_dir: required (or --write_fixture"
                            "=DIR to write a fixture).")
        workdir = tempfile.mkdtemp(prefix="provlae_compare_")
        return _compare(workdir)
    except (UserError, OriginalFailed) as e:
        print(f"{PREFIX}: {e}", file=sys.stderr)
        return 2
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    native_log.quiet_tensorflow_startup()
    # absl's global flags are not used: mark them parsed (TensorFlow's
    # absl logging otherwise warns that they are not).
    flags.FLAGS.mark_as_parsed()
    sys.exit(run(sys.argv))
