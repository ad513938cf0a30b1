"""``python -m provlae_tf.compare`` and its fixtures, against the live
original code (../shared/original).

- A fixture regenerated from the original code: a short original training
  run of the small network (3 stages of 2 steps, each stage in a fresh
  process restoring the previous checkpoint, as the original's scripts do),
  evaluated at its end; our model must reproduce it.
- That original run continued by our training at every stage: the same
  losses at every step.
- The command line: exit 0 and the table on a matching checkpoint (one of
  our runs), exit 1 when the two sides differ, the one-line error for a
  directory that is not the original code; the same with
  ``--continue_steps`` (both sides training on from one checkpoint), whose
  verdict on where each side diverges is checked on hand-made rows.

Every golden value is computed by the original code.
"""

import json
import math

import numpy as np
import pytest
import tensorflow as tf

from provlae_tf.compare import __main__ as compare_main
from provlae_tf.compare import continuation, fixture, spec, table
from provlae_tf.convert import tf1
from tests.command_line import run_convert
from tests.shared_fixtures import original_code_path

STAGES, STEPS, BATCH = 3, 2, 4
FADE_IN_DURATION = 2  # alpha = 0, 0.5 at the two steps of each stage
# The fast flags of a command-line comparison.
QUICK = ("--train_seq=1", "--batch=2", "--nograph_rewrites",
         "--state_elements=256")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A fixture made by a short original training run (test (a) and (c))."""
    out = tmp_path_factory.mktemp("fixtures") / "small_stage3"
    fixture.write_fixture(
        str(original_code_path()), str(out), spec.Network("small", 2, 1),
        spec.Recipe(fade_in_duration=FADE_IN_DURATION), STAGES, seed=0,
        batch=BATCH, train_steps=STEPS, elements=256, rewrites=False,
        log=lambda line: None)
    return out


def test_fixture_holds_the_original_training_run(trained):
    for name in ("fixture.json", "inputs.npz", "stage3_a1.npz",
                 "stage3_a0.3.npz", "checkpoint"):
        assert (trained / name).is_file(), name
    for stage in range(STAGES + 1):
        assert (trained / str(stage) / "checkpoint").is_file()
    # Adam's state carried across the stages' processes through the
    # checkpoints: TF1's beta1_power is 0.9^(1 + steps), multiplied in
    # float32 after every step.
    power = np.float32(0.9)
    for _ in range(STAGES * STEPS):
        power = np.float32(power * np.float32(0.9))
    reader = tf.train.load_checkpoint(tf1.latest_prefix(str(trained)))
    assert reader.get_tensor("beta1_power") == power
    # The fade-in counter restarts at every stage (a new process).
    for stage in range(1, STAGES + 1):
        record = np.load(trained / f"train_stage{stage}.npz")
        assert record["fade_in"].tolist() == [0.0, 0.5]
        assert record["x"].shape == (STEPS, BATCH, 64, 64, 1)
        assert np.all(np.isfinite(record["loss"]))


def test_our_model_reproduces_the_regenerated_fixture(trained):
    rows = fixture.parity_rows(str(trained))
    assert table.passed(rows), "\n" + table.format_table(
        [r for r in rows if not r.ok])
    assert {(r.stage, r.alpha) for r in rows} == {(3, 1.0), (3, 0.3)}
    assert {"z_mean1", "z_logvar3", "logits", "loss", "post_loss",
            "step: gradients", f"step: {table.ADJUSTED}",
            "step: Adam v"} <= {r.tensor for r in rows}


def test_our_training_continues_the_original_run(trained):
    rows = fixture.continuation_rows(str(trained))
    losses = [r for r in rows if r.tensor.startswith("train: ")]
    assert len(losses) == STAGES * len(spec.loss_names(3))
    assert table.passed(losses), "\n" + table.format_table(losses)
    state = {r.tensor[len("after stage: "):]: r for r in rows
             if r.tensor.startswith("after stage: ")
             and r.stage == STAGES}
    exact = [r for r in rows if r.tensor in (
        "after stage: beta powers", "after stage: moving statistics")]
    assert len(exact) == 2 * STAGES and all(r.relative == 0 for r in exact)
    # After several steps, the state itself differs by Adam's amplification
    # of rounding-level gradient differences (table.FOOTNOTE: the first
    # step from zero slots moves a variable by about lr * sign(g), anything
    # in [-lr, lr] where g is near 0), which the later steps' gradients and
    # slots inherit: measured up to 1.2e-4 of a tensor's scale for the
    # variables and 1.7e-5 for Adam's m after 2 steps a stage. The losses of
    # every step (above) are held to 1e-5.
    drift = [r for r in rows if r.tensor in (
        "after stage: variables", "after stage: Adam m",
        "after stage: Adam v")]
    assert len(drift) == 3 * STAGES and set(state) >= {"variables"}
    assert max(r.relative for r in drift) <= 1e-3, \
        "\n" + table.format_table(drift)


def _compare(capsys, *args):
    code = compare_main.run(["provlae_tf.compare", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_command_line_passes_on_one_of_our_runs(trained, tmp_path, capsys):
    run_dir = tmp_path / "run"
    converted = run_convert("--to=tf2", f"--checkpoint_dir={trained}",
                            f"--train_seq={STAGES}", f"--out_dir={run_dir}")
    assert converted.returncode == 0, converted.stderr
    report = tmp_path / "table.json"
    code, out, err = _compare(
        capsys, f"--original_code={original_code_path()}",
        f"--checkpoint_dir={run_dir}", f"--json={report}", *QUICK)
    assert code == 0, out + err
    assert "provlae_tf run" in out and "All " in out
    data = json.loads(report.read_text())
    assert data["passed"] and data["stages"] == [1]
    assert {row["tensor"] for row in data["rows"]} >= {
        "z_mean1", "logits", "loss", "step: gradients", "step: Adam m"}


def _changed_statistics(trained, directory) -> str:
    """A copy of the fixture's checkpoint whose "BN" moving statistics are
    not the constants the original never changes: the original's graph
    uses them; our importer (optimistic) keeps its constants, so every
    output differs."""
    prefix = tf1.latest_prefix(str(trained))
    reader = tf.train.load_checkpoint(prefix)
    values = {name: reader.get_tensor(name)
              for name in reader.get_variable_to_shape_map()}
    values["vae_ladder/qh1/batch_normalization/moving_variance"] *= 4
    tf1.write_tf1_checkpoint(values, str(directory), 1)
    return str(directory)


def test_command_line_exits_1_when_the_sides_differ(trained, tmp_path,
                                                    capsys):
    changed = _changed_statistics(trained, tmp_path / "changed")
    code, out, err = _compare(
        capsys, f"--original_code={original_code_path()}",
        f"--checkpoint_dir={changed}", "--restore=optimistic", *QUICK)
    assert code == 1, out + err
    rows = {line.split()[2]: line.split()[-1] for line in out.splitlines()
            if line.strip().startswith("1     1")}
    assert rows["z_mean1"] == "NO" and rows["logits"] == "NO"
    assert "beyond their tolerance" in out


@pytest.mark.parametrize("content", [None, "print('not the original')\n"])
def test_command_line_refuses_what_is_not_the_original_code(
        tmp_path, capsys, content):
    if content is not None:
        (tmp_path / "model_ladder_progress.py").write_text(content)
    code, out, err = _compare(capsys, f"--original_code={tmp_path}",
                              f"--checkpoint_dir={tmp_path}")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"provlae_tf.compare: --original_code={tmp_path}:")
    assert "model_ladder_progress.py" in err
    assert "github.com/Zhiyuan1991/proVLAE" in err


def test_continuing_both_sides_agrees_step_by_step(trained, tmp_path,
                                                   capsys):
    """The fixture's original run, continued at stage 3 for 3 more steps by
    the original's partial_fit and by our step: the same loss each step."""
    report = tmp_path / "continued.json"
    code, out, err = _compare(
        capsys, f"--original_code={original_code_path()}",
        f"--checkpoint_dir={trained}", f"--train_seq={STAGES}",
        "--continue_steps=3", "--batch=2", "--nograph_rewrites",
        f"--json={report}")
    assert code == 0, out + err
    assert "continued: stage 3, 3 steps of 2 random binary images" in out
    assert "finite for all 3 steps" in out and "The two sides agree." in out
    data = json.loads(report.read_text())
    assert [row["step"] for row in data["rows"]] == [1, 2, 3]
    # The fixture's recipe fades in over 5000 steps (its default): alpha
    # 0, 1/5000, 2/5000, as the original's counter restarts at a stage.
    assert [row["alpha"] for row in data["rows"]] == [0.0, 0.0002, 0.0004]
    assert all(abs(row["ours"] - row["original"])
               <= 1e-5 * abs(row["original"]) for row in data["rows"])
    assert data["passed"] and data["original_diverged_at"] is None
    assert data["continued"].startswith("stage 3, 3 steps of 2 random")


def test_continuing_sides_that_differ_exits_1(trained, tmp_path, capsys):
    """The changed statistics move the bottom ladder's loss by about 5e-4
    of the total (measured): within the default tolerance of 5e-2 for
    long continuations, beyond 1e-4."""
    changed = _changed_statistics(trained, tmp_path / "changed")
    args = (f"--original_code={original_code_path()}",
            f"--checkpoint_dir={changed}", "--restore=optimistic",
            f"--train_seq={STAGES}", "--continue_steps=2", "--batch=2",
            "--nograph_rewrites")
    code, out, err = _compare(capsys, *args, "--continue_tolerance=1e-4")
    assert code == 1, out + err
    assert "The two sides DIFFER." in out
    assert "finite for all 2 steps; ours: finite for all 2 steps" in out


def _rows(original, ours):
    return continuation.step_rows([1.0] * len(original), original, ours)


def test_the_verdict_on_where_each_side_diverges():
    nan, inf = float("nan"), float("inf")
    # Both diverge at step 3; before it, 1e-3 apart at step 2.
    same = continuation.verdict(_rows([10.0, 1000.0, nan, nan],
                                      [10.0, 1001.0, nan, nan]), 1e-2)
    assert (same.original_diverged_at, same.ours_diverged_at) == (3, 3)
    assert same.largest == 1e-3 and same.largest_at == 2 and same.passed
    # The same, held to a tighter tolerance.
    assert not continuation.verdict(_rows([10.0, 1000.0, nan],
                                          [10.0, 1001.0, nan]), 1e-4).passed
    # Only ours diverges (inf counts as diverged): they differ.
    apart = continuation.verdict(_rows([1.0, 2.0, 3.0], [1.0, inf, nan]),
                                 1e-2)
    assert (apart.original_diverged_at, apart.ours_diverged_at) == (None, 2)
    assert apart.largest == 0.0 and not apart.passed
    rows = _rows([1.0, 2.0, nan], [1.0, inf, nan])
    assert [r.relative for r in rows][:2] == [0.0, inf]
    assert math.isnan(rows[2].relative)
    # Neither diverges.
    assert continuation.verdict(_rows([4.0, 2.0], [4.0, 2.0]), 0.0).passed
    table_text = continuation.format_rows(_rows([1.0, nan, nan, nan],
                                                [1.0, nan, nan, nan]))
    assert table_text.splitlines()[-1] == "(steps 4..4 not shown)"
