"""The experiment runner (python -m provlae_tf.experiments): budgets, grids
and their command lines, bad input, collecting hand-written run directories
with known statistics, exporting them and collecting or continuing from the
export, and the smoke grid end to end."""

import csv
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from provlae_tf.errors import UserError
from provlae_tf.experiments import (budgets, collect, export, grid,
                                    run_figures, runner, status)

REPO = Path(__file__).resolve().parents[1]


def run_experiments(*args, env=None, timeout=900):
    return subprocess.run(
        [sys.executable, "-m", "provlae_tf.experiments", *args], cwd=REPO,
        capture_output=True, text=True, env=env, timeout=timeout)


# ------------------------------------------------------------------- grids
def test_the_default_grid_is_dsprites_three_models_three_seeds():
    g = grid.make_grid(grid.DEFAULT_DATASETS, grid.DEFAULT_MODELS,
                       grid.DEFAULT_SEEDS, grid.DEFAULT_BUDGET)
    names = [cell.name for cell in g.cells()]
    assert names == [f"dsprites/{m}/seed{s}"
                     for m in ("provlae", "vlae", "beta_vae")
                     for s in (0, 1, 2)]
    assert g.cells()[4].run_dir == os.path.join(
        "runs", "experiments", "cpu", "dsprites", "vlae", "seed1")


def test_a_cell_is_main_with_the_model_seed_budget_and_ablation_flags():
    # cpu: 384 steps of 3D Shapes' batch of 100 per stage = 38,400 images.
    cell = grid.Cell("3dshapes", "provlae_nokl", 7, "cpu", "out")
    assert cell.flags() == [
        "--dataset=3dshapes", "--model=provlae", "--seed=7",
        "--checkpoint_dir=" + os.path.join("out", "3dshapes", "provlae_nokl",
                                           "seed7"),
        "--max_examples=38400", "--epoch_size=1", "--fade_in_duration=128",
        "--eval_images=65536", "--KL=false"]
    assert cell.metrics_argv("py") == ["py", "-m", "provlae_tf.main",
                                       *cell.flags(), "--mode=3"]
    line = grid.command_line(cell, "/usr/bin/python3", "/some where")
    assert line.startswith("cd '/some where' && /usr/bin/python3 -m "
                           "provlae_tf.main --dataset=3dshapes")
    assert line.endswith("--KL=false --mode=3")
    # The full budget is the recipe: nothing beyond the cell itself.
    full = grid.Cell("dsprites", "vlae", 0, "full", "o")
    assert [f.split("=")[0] for f in full.flags()] == [
        "--dataset", "--model", "--seed", "--checkpoint_dir"]


def test_names_are_checked_and_duplicates_dropped():
    g = grid.make_grid(["dsprites", "dsprites"], ["vlae"], ["2", "0", "2"],
                       "smoke", "x")
    assert (g.datasets, g.seeds, g.out_dir) == (("dsprites",), (2, 0), "x")
    with pytest.raises(UserError, match=r"^--models=vae: unknown model; "
                       "expected one of provlae, vlae, beta_vae, "
                       "provlae_nofade, provlae_nokl, beta_vae_b1, "
                       r"beta_vae_b4, beta_vae_b8\.$"):
        grid.make_grid(["dsprites"], ["vae"], [0], "smoke")
    with pytest.raises(UserError, match=r"^--seeds=-1: expected integers"):
        grid.make_grid(["dsprites"], ["vlae"], ["-1"], "smoke")
    with pytest.raises(UserError, match=r"^--datasets: expected at least"):
        grid.make_grid([], ["vlae"], [0], "smoke")


def test_each_model_trains_what_it_says():
    """The cells' configurations as main builds them: the baselines train
    in one stage for L x epoch_size epochs, the ablations switch one thing."""
    def config(model):
        return status.expected_config(grid.Cell("dsprites", model, 0,
                                                "smoke", "o"))
    pro, vlae, beta = config("provlae"), config("vlae"), config("beta_vae")
    assert (pro.model.kind, pro.train.epochs_per_stage,
            status.final_stage(pro)) == ("provlae", 1, 3)
    assert (vlae.model.kind, vlae.train.train_seq,
            vlae.train.epochs_per_stage, status.final_stage(vlae)) == \
        ("vlae", "3", 3, 3)
    assert (beta.model.kind, beta.model.num_ladders,
            status.final_stage(beta)) == ("beta_vae", 1, 1)
    assert pro.train.fade_in and pro.train.pre_kl
    assert not config("provlae_nofade").train.fade_in
    assert not config("provlae_nokl").train.pre_kl
    assert beta.train.beta == 1.0  # dSprites' recipe
    for name, value in (("beta_vae_b4", 4.0), ("beta_vae_b8", 8.0)):
        swept = config(name)
        assert (swept.model.kind, swept.train.beta) == ("beta_vae", value)
        assert swept.model == beta.model and swept.data == beta.data
    assert pro.data.max_examples == 512 and pro.eval.mig_samples == 500


# ----------------------------------------------------------------- budgets
def _budget_flags(budget, dataset):
    """The flags a budget adds to a cell (after dataset, model, seed and
    checkpoint_dir), as {name: value}."""
    flags = grid.Cell(dataset, "vlae", 0, budget, "o").flags()[4:]
    return dict(flag[2:].split("=", 1) for flag in flags)


def test_step_budgets_train_s_batches_of_each_recipe_per_stage():
    """S steps per stage: S x the recipe's batch (dSprites, CelebA, MNIST
    128; 3D Shapes 100) images, 1 epoch, fade-in over S // 3 steps."""
    expected = {
        ("cpu", "dsprites"): (384 * 128, 128), ("cpu", "3dshapes"):
        (384 * 100, 128), ("medium", "dsprites"): (1024 * 128, 341),
        ("medium", "3dshapes"): (1024 * 100, 341), ("medium", "celeba"):
        (1024 * 128, 341), ("medium", "mnist"): (1024 * 128, 341)}
    for (budget, dataset), (images, fade) in expected.items():
        assert _budget_flags(budget, dataset) == {
            "max_examples": str(images), "epoch_size": "1",
            "fade_in_duration": str(fade), "eval_images": "65536"}
    # On dSprites the cpu budget is exactly what it was before it was
    # sized in steps (the cpu results of docs/results.md).
    assert grid.Cell("dsprites", "vlae", 0, "cpu", "o").flags()[4:] == [
        "--max_examples=49152", "--epoch_size=1", "--fade_in_duration=128",
        "--eval_images=65536"]
    medium = status.expected_config(grid.Cell("3dshapes", "provlae", 0,
                                              "medium", "o"))
    assert (medium.data.max_examples, medium.train.batch_size,
            medium.train.epochs_per_stage) == (102400, 100, 1)


def test_steps_per_stage_renames_the_budget_and_its_folder():
    g = grid.make_grid(["dsprites", "3dshapes"], ["provlae"], [0], "medium",
                       steps_per_stage=512)
    assert g.budget == "medium@512"
    assert g.out_dir == os.path.join("runs", "experiments", "medium@512")
    assert [c.budget for c in g.cells()] == ["medium@512"] * 2
    assert _budget_flags("medium@512", "dsprites") == {
        "max_examples": str(512 * 128), "epoch_size": "1",
        "fade_in_duration": "170", "eval_images": "65536"}
    assert _budget_flags("medium@512", "3dshapes")["max_examples"] == \
        str(512 * 100)
    # The budget's own S is the budget itself; medium@512 given as the
    # budget is the same grid as --steps_per_stage=512.
    assert grid.make_grid(["dsprites"], ["vlae"], [0], "medium",
                          steps_per_stage=1024).budget == "medium"
    assert grid.make_grid(["dsprites"], ["vlae"], [0], "medium@512",
                          steps_per_stage=512).budget == "medium@512"
    with pytest.raises(UserError, match=r"^--budget=full@9: the full budget "
                       "is not sized in steps"):
        grid.make_grid(["dsprites"], ["vlae"], [0], "full@9")
    # The flag, as the command line gives it.
    listed = run_experiments("--budget=medium", "--steps_per_stage=512",
                             "--models=vlae", "--seeds=0", "--list")
    assert listed.returncode == 0, listed.stderr
    assert "--checkpoint_dir=runs/experiments/medium@512/dsprites/vlae/" \
           "seed0 --max_examples=65536 --epoch_size=1 " \
           "--fade_in_duration=170 --eval_images=65536" in listed.stdout


def test_budget_descriptions_come_from_each_dataset_configuration():
    def describe(dataset, budget):
        return budgets.describe_run(dataset, status.expected_config(
            grid.Cell(dataset, "provlae", 0, budget, "o")))
    assert describe("dsprites", "medium") == (
        "dSprites: 1,024 steps of 128 per stage on a 131,072-image subset, "
        "fade-in over 341 steps; metrics on a seeded 65,536-image subset, "
        "default estimate sizes")
    # 3D Shapes: batch 100, and its recipe has no fade-in.
    assert describe("3dshapes", "medium@300") == (
        "3D Shapes: 300 steps of 100 per stage on a 30,000-image subset, "
        "no fade-in (the dataset's recipe); metrics on a seeded "
        "65,536-image subset, default estimate sizes")
    # The full recipe: 737,280 / 128 = 5,760 steps an epoch, 30 epochs.
    assert describe("dsprites", "full") == (
        "dSprites: 30 epochs of 5,760 steps of 128 per stage (172,800 "
        "steps) on all 737,280 images, fade-in over 5,000 steps; metrics "
        "on every image, default estimate sizes")
    assert describe("3dshapes", "smoke").startswith(
        "3D Shapes: 5 steps of 100 per stage on a 512-image subset, no "
        "fade-in (the dataset's recipe); metrics on a seeded 512-image "
        "subset, estimate sizes mig_samples=500, factor_train_votes=50,")


def test_each_child_gets_its_share_of_the_cores():
    assert runner.thread_environment(1, cores=8) == {}
    assert runner.thread_environment(3, cores=16) == {
        "TF_NUM_INTRAOP_THREADS": "5", "TF_NUM_INTEROP_THREADS": "5",
        "OMP_NUM_THREADS": "5"}
    assert runner.thread_environment(4, cores=2)["OMP_NUM_THREADS"] == "1"


def _fake_cell(name, out):
    return grid.Cell("dsprites", "provlae", name, "smoke", str(out))


def test_the_plan_resumes_each_cell_where_it_stands(tmp_path):
    cells = [_fake_cell(seed, tmp_path) for seed in range(4)]
    states = [status.State.NEW, status.State.TRAINING, status.State.SCORING,
              status.State.FINISHED]
    jobs = runner.plan_jobs([status.CellStatus(c, s)
                             for c, s in zip(cells, states)], "py")
    assert [job.cell.seed for job in jobs] == [0, 1, 2]
    assert [len(job.commands) for job in jobs] == [2, 2, 1]
    assert jobs[2].commands[0][-1] == "--mode=3"
    assert "--mode=3" not in jobs[1].commands[0]


def test_a_diverged_cell_is_skipped_unless_retried(tmp_path):
    diverged = status.CellStatus(_fake_cell(0, tmp_path),
                                 status.State.DIVERGED, "nan at step 17")
    assert runner.plan_jobs([diverged], "py") == []
    jobs = runner.plan_jobs([diverged], "py", retry_diverged=True)
    assert [len(job.commands) for job in jobs] == [2]  # trains, then scores


def test_parallel_jobs_log_to_files_and_a_failure_ends_its_job(tmp_path):
    """Real child processes (tiny Python commands) two at a time: each
    writes to its log with its share of the threads; a failing command
    stops its job, the other job goes on."""
    show = [sys.executable, "-c", "import os; print('threads', "
            "os.environ['TF_NUM_INTRAOP_THREADS'])"]
    fail = [sys.executable, "-c", "import sys; sys.exit(3)"]
    jobs = [runner.Job(_fake_cell(0, tmp_path), (show, show)),
            runner.Job(_fake_cell(1, tmp_path), (fail, show))]
    lines = []
    outcomes = runner.run_jobs(jobs, parallel=2, cwd=str(tmp_path),
                               log_dir=str(tmp_path / "logs"),
                               say=lines.append)
    assert [o.result for o in outcomes] == ["done", "failed"]
    assert "exited with 3" in outcomes[1].message
    share = max(1, runner.available_cores() // 2)
    first = (tmp_path / "logs" / "dsprites_provlae_seed0.log").read_text()
    assert first.count(f"threads {share}\n") == 2
    second = (tmp_path / "logs" / "dsprites_provlae_seed1.log").read_text()
    assert "threads" not in second  # its second command never ran
    assert any("dsprites/provlae/seed1: failed" in line for line in lines)


STOPPED_GRID = """
import sys
from provlae_tf.experiments import grid, runner
child = [sys.executable, "-c", "import signal, sys, time\\n"
         "signal.signal(signal.SIGINT, lambda *a: sys.exit(130))\\n"
         "print('ready', flush=True)\\ntime.sleep(60)"]
cells = [grid.Cell("dsprites", "vlae", s, "smoke", "o") for s in (0, 1)]
outcomes = runner.run_jobs([runner.Job(c, (child,)) for c in cells],
                           say=lambda line: print(line, flush=True))
print("outcomes", [o.result for o in outcomes], flush=True)
"""


def test_sigterm_asks_the_running_cell_to_save_and_starts_no_more():
    """SIGTERM to the runner: the child gets one SIGINT (main's "finish the
    step, save, exit"), the next cell never starts."""
    import signal
    import threading
    process = subprocess.Popen([sys.executable, "-c", STOPPED_GRID],
                               cwd=REPO, stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(60, process.kill)  # never hang the suite
    watchdog.start()
    seen = []
    try:
        for line in process.stdout:
            seen.append(line)
            if line.startswith("ready"):
                process.send_signal(signal.SIGTERM)
    finally:
        watchdog.cancel()
    assert process.wait(timeout=60) == 0
    assert "dsprites/vlae/seed0: interrupted" in "".join(seen)
    assert seen[-1].strip() == "outcomes ['interrupted', 'interrupted']"
    assert sum(line.startswith("ready") for line in seen) == 1


def test_every_grid_flagfile_lists_its_cells():
    counts = {}
    for path in sorted((REPO / "flags" / "grids").glob("*.cfg")):
        result = run_experiments(f"--flagfile={path}", "--list")
        assert result.returncode == 0, result.stderr
        counts[path.name] = len(result.stdout.splitlines())
    assert counts["smoke.cfg"] == 3       # 1 dataset x 3 models x 1 seed
    assert counts["cpu_dsprites.cfg"] == 9  # 1 x 3 x 3
    assert counts["medium_dsprites.cfg"] == 15      # 1 x 3 x 5
    assert counts["medium_3dshapes.cfg"] == 21      # 1 x 3 x 7
    assert counts["ablations_medium_dsprites.cfg"] == 9    # 1 x 3 x 3
    assert counts["ablations_medium_3dshapes.cfg"] == 6    # 1 x 2 x 3
    assert counts["beta_sweep_medium_dsprites.cfg"] == 12  # 1 x 4 x 3
    assert counts["beta_sweep_medium_3dshapes.cfg"] == 12


@pytest.mark.parametrize("args, message", [
    (["--models=provlae,foo"], "--models=foo: unknown model; expected one "
     "of provlae, vlae, beta_vae, provlae_nofade, provlae_nokl, "
     "beta_vae_b1, beta_vae_b4, beta_vae_b8."),
    (["--datasets=mnist2"], "--datasets=mnist2: unknown dataset; expected "
     "one of dsprites, 3dshapes, celeba, mnist."),
    (["--budget=huge"], "--budget=huge: unknown budget; expected one of "
     "smoke, cpu, medium, full."),
    (["--budget=smoke", "--steps_per_stage=512"], "--steps_per_stage=512: "
     "the smoke budget is not sized in steps per stage; expected one of "
     "cpu, medium."),
    (["--budget=medium", "--steps_per_stage=0"], "--steps_per_stage=0: "
     "expected a positive number of steps per stage"),
    (["--budget=medium@64", "--steps_per_stage=32"], "--budget=medium@64 "
     "and --steps_per_stage=32: two different steps per stage"),
    (["--seeds=one"], "--seeds=one: expected integers"),
    (["--parallel=0"], "--parallel=0: expected a positive number"),
    (["--list", "--collect"], "--list and --collect: expected at most one"),
    (["--no_such_flag"], "Unknown command line flag 'no_such_flag'"),
])
def test_bad_input_is_one_clear_line(tmp_path, args, message):
    result = run_experiments(*args, f"--out_dir={tmp_path / 'out'}")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("provlae_tf.experiments: ")
    assert message in lines[0]
    assert not (tmp_path / "out").exists()


# ----------------------------------------------- hand-written run directories
MIG_FACTORS = ["scale", "orientation", "posX", "posY"]


def _metrics(stage, options, kl, information, all_ladders, per_ladder):
    """A metrics.json as --mode=3 writes it (the fields the tables and the
    figures read), with a 4 factors x 6 latents MI matrix."""
    return {"stage": stage, "options": options, "dataset": "dsprites",
            "num_images": 737280, "seed": 0, "kl": kl,
            "information": information, "all": all_ladders,
            "ladders": {str(l): v for l, v in enumerate(per_ladder, 1)},
            "mig_factors": MIG_FACTORS,
            "mi_normed": [[0.1 * (f + j) % 1 for j in range(6)]
                          for f in range(4)],
            "seconds": {}}


def _scores(mig, mig_sup, factor, hist):
    return {"mig": mig, "mig_sup": mig_sup, "factor_metric": factor,
            "factor_metric_train": factor, "mig_histogram": hist,
            "active_units": [0, 1]}


def _write_run(cell, stage, metrics=None, flow=None, training=None):
    """config.json, the last stage's snapshot, metrics.json (a dict, or
    text for a damaged file), information.json and training.json
    (``{stage: (seconds, images)}``)."""
    expected = status.expected_config(cell)
    run = Path(cell.run_dir)
    (run / "stages" / f"stage{stage}").mkdir(parents=True)
    (run / "stages" / f"stage{stage}" / "ckpt.index").write_bytes(b"")
    (run / "config.json").write_text(expected.to_json())
    (run / "invocations.jsonl").write_text('{"train_seq": "all"}\n')
    if isinstance(metrics, str):
        (run / "metrics.json").write_text(metrics)
    elif metrics is not None:
        options = dataclasses.asdict(expected.eval)
        (run / "metrics.json").write_text(json.dumps(
            _metrics(stage, options, **metrics)))
    if flow is not None:
        (run / "information.json").write_text(json.dumps({"stages": {
            str(s): {"kl": values, "mutual_information": values}
            for s, values in flow.items()}}))
    if training is not None:
        (run / "training.json").write_text(json.dumps({"stages": {
            str(s): {"seconds": seconds, "images": images, "steps": 0}
            for s, (seconds, images) in training.items()}}))


# A stage-end traversal of 3 ladders x 2 latents (rows top ladder first),
# 64-pixel cells with 2-pixel white padding: 6 * 64 + 7 * 2 = 398 high. Row
# i is filled with the grey ROW_GREY[i], so a crop shows which rows it has.
ROW_GREY = [10, 50, 90, 130, 170, 210]


def _write_traversal(run_dir, stage):
    from PIL import Image
    image = np.full((6 * 64 + 7 * 2, 100), 255, np.uint8)
    for row, grey in enumerate(ROW_GREY):
        image[2 + row * 66:2 + row * 66 + 64, 2:98] = grey
    (Path(run_dir) / "images").mkdir(exist_ok=True)
    Image.fromarray(image).save(Path(run_dir) / "images" /
                                f"stage{stage}_traversal.png")


# pro-VLAE, seeds 0..2. By hand (sample std, n - 1 = 2):
#   MIG 0.2, 0.4, 0.6: mean 0.4, deviations -0.2, 0, 0.2 -> std 0.2
#   MIG-sup 0.1, 0.1, 0.4: mean 0.2, squares .01 + .01 + .04 = .06 -> 0.1732
#   factor 0.5, 0.7, 0.9: 0.7 +- 0.2;  histogram 0.3 three times: 0.3 +- 0
#   KL (sum over ladders) 6, 9, 12: 9 +- 3
# The median seed by MIG is seed 1 (0.4).
PRO_SCORES = [(0.2, 0.1, 0.5, 0.3), (0.4, 0.1, 0.7, 0.3),
              (0.6, 0.4, 0.9, 0.3)]
PRO_KL = [[1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [3.0, 4.0, 5.0]]
# I(x; z_l) per stage end, seeds 0 and 1 (seed 2 ran with --info_images=0).
# Mean at the end of stage 3: [(2 + 4) / 2, (3 + 5) / 2, (6 + 8) / 2].
PRO_FLOW = [{1: [0.0, 0.0, 6.0], 2: [0.0, 3.0, 6.0], 3: [2.0, 3.0, 6.0]},
            {1: [0.0, 0.0, 8.0], 2: [0.0, 5.0, 8.0], 3: [4.0, 5.0, 8.0]}]
# beta-VAE, seeds 0 and 1: MIG 0.05, 0.15 (mean 0.1, std 0.1 / sqrt 2);
# KL 7.5, 8.5. Against pro-VLAE's MIG every pro-VLAE seed is higher.
BETA_SCORES = [(0.05, 0.06, 0.07, 0.08), (0.15, 0.08, 0.11, 0.10)]
BETA_KL = [7.5, 8.5]
GRID_ARGS = ["--budget=smoke", "--seeds=0,1,2",
             "--models=provlae,vlae,beta_vae"]


@pytest.fixture(scope="module")
def written_grid(tmp_path_factory):
    """Hand-written run directories, collected with --export_dir, then
    collected again from the export alone."""
    root = tmp_path_factory.mktemp("written")
    out, exported = root / "out", root / "exported"
    cell = lambda model, seed: grid.Cell("dsprites", model, seed, "smoke",
                                         str(out))
    for seed, scores in enumerate(PRO_SCORES):
        per_ladder = [_scores(0.01 * (seed + l), 0.02, 0.3, 0.04)
                      for l in (1, 2, 3)]
        _write_run(cell("provlae", seed), 3,
                   {"kl": PRO_KL[seed], "information": [0.5, 1.5, 2.5],
                    "all_ladders": _scores(*scores),
                    "per_ladder": per_ladder},
                   flow=PRO_FLOW[seed] if seed < 2 else None,
                   training=({1: (20.0, 512), 2: (22.5, 512), 3: (0.0, 512)}
                             if seed == 0 else None))
    _write_traversal(cell("provlae", 1).run_dir, 3)
    _write_traversal(cell("provlae", 0).run_dir, 3)  # not the median
    for seed, scores in enumerate(BETA_SCORES):
        _write_run(cell("beta_vae", seed), 1,
                   {"kl": [BETA_KL[seed]], "information": [4.25],
                    "all_ladders": _scores(*scores),
                    "per_ladder": [_scores(0.05, 0.06, 0.09, 0.08)]})
    # VLAE: one finished run (n = 1), one damaged, one unfinished.
    _write_run(cell("vlae", 0), 3,
               {"kl": [1.0, 1.0, 1.0], "information": [1.0, 2.0, 3.0],
                "all_ladders": _scores(0.1, 0.1, 0.5, 0.1),
                "per_ladder": [_scores(0.1, 0.1, 0.5, 0.1)] * 3},
               flow={3: [4.0, 5.0, 6.0]})
    _write_run(cell("vlae", 1), 3, "{not json")   # scored, file damaged
    Path(cell("vlae", 2).run_dir).mkdir(parents=True)  # training unfinished
    Path(cell("vlae", 2).run_dir, "config.json").write_text(
        status.expected_config(cell("vlae", 2)).to_json())
    # beta-VAE seed 2: diverged, as the trainer logs it.
    Path(cell("beta_vae", 2).run_dir).mkdir(parents=True)
    Path(cell("beta_vae", 2).run_dir, "config.json").write_text(
        status.expected_config(cell("beta_vae", 2)).to_json())
    Path(cell("beta_vae", 2).run_dir, "train.log").write_text(
        "2026-12-07 10:15:45 Stage 1: ladders [3, 2, 1] active.\n"
        "2026-12-07 10:15:51 TrainingDiverged: The loss became nan at "
        "stage 1, epoch 1, step 17. The last good checkpoint is kept.\n")
    result = run_experiments("--collect", *GRID_ARGS, f"--out_dir={out}",
                             f"--export_dir={exported}")
    first_export = {name: (exported / name).read_text()
                    for name in ("results.csv", "summary.csv")}
    again = run_experiments("--collect", *GRID_ARGS,
                            f"--out_dir={exported}")
    return {"out": out, "result": result, "exported": exported,
            "again": again, "first_export": first_export}


def test_collect_tabulates_the_finished_runs(written_grid):
    out, result = written_grid["out"], written_grid["result"]
    assert result.returncode == 0, result.stderr
    assert "6 of 9 runs collected, 3 missing" in result.stdout
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["model"], r["seed"], r["budget"]) for r in rows] == [
        ("provlae", "0", "smoke"), ("provlae", "1", "smoke"),
        ("provlae", "2", "smoke"), ("vlae", "0", "smoke"),
        ("beta_vae", "0", "smoke"), ("beta_vae", "1", "smoke")]
    pro0, beta = rows[0], rows[4]
    assert float(pro0["mig"]) == 0.2 and float(pro0["factor_metric"]) == 0.5
    assert (pro0["stage"], pro0["eval_images"]) == ("3", "737280")
    assert float(pro0["mig_l2"]) == 0.01 * 2
    assert float(pro0["kl"]) == 6.0 and float(pro0["kl_l3"]) == 3.0
    assert float(pro0["info_l2"]) == 1.5
    assert int(pro0["train_images"]) == 3 * 512    # training.json's stages
    assert float(pro0["train_seconds"]) == 20.0 + 22.5
    assert rows[1]["train_images"] == rows[1]["train_seconds"] == ""
    # The beta-VAE has one ladder: its ladder-2 and -3 columns stay empty.
    assert float(beta["factor_metric_l1"]) == 0.09
    assert float(beta["info_l1"]) == 4.25
    assert beta["mig_l2"] == beta["kl_l3"] == beta["info_l3"] == ""


def _summary(path):
    with open(path) as f:
        return {(r["model"], r["metric"]): r for r in csv.DictReader(f)}


def test_summary_csv_has_the_statistics_and_the_tests(written_grid):
    rows = _summary(written_grid["out"] / "summary.csv")
    pro, beta = rows[("provlae", "mig")], rows[("beta_vae", "mig")]
    assert (pro["dataset"], pro["budget"], pro["n"]) == ("dsprites", "smoke",
                                                         "3")
    assert float(pro["mean"]) == pytest.approx(0.4)
    assert float(pro["std"]) == pytest.approx(0.2)
    # Three values: each extreme resample (one value thrice) has chance
    # 1/27 > 2.5 %, so the 95 % bootstrap interval is [min, max]; two
    # values: 1/4 each, [min, max] again.
    assert (float(pro["ci_low"]), float(pro["ci_high"])) == (
        pytest.approx(0.2), pytest.approx(0.6))
    assert (float(beta["ci_low"]), float(beta["ci_high"])) == (
        pytest.approx(0.05), pytest.approx(0.15))
    assert pro["p_welch"] == pro["cohens_d"] == pro["p_mannwhitney"] == ""
    # Welch by hand: variances of the means 0.04 / 3 and 0.005 / 2.
    v1, v2 = 0.04 / 3, 0.005 / 2
    t = 0.3 / (v1 + v2) ** 0.5
    df = (v1 + v2) ** 2 / (v1 ** 2 / 2 + v2 ** 2 / 1)
    from scipy.stats import t as student
    assert float(beta["welch_t"]) == pytest.approx(t)
    assert float(beta["welch_df"]) == pytest.approx(df)
    assert float(beta["p_welch"]) == pytest.approx(2 * student.sf(t, df))
    # Every pro-VLAE seed above every beta-VAE seed: U = 6 of 6 pairs,
    # exact two-sided p = 2 / C(5, 2); r = 1.
    assert float(beta["mannwhitney_u"]) == 6.0
    assert float(beta["p_mannwhitney"]) == pytest.approx(0.2)
    assert float(beta["rank_biserial"]) == 1.0
    # Cohen's d: pooled var (2 * 0.04 + 1 * 0.005) / 3.
    assert float(beta["cohens_d"]) == pytest.approx(0.3 / (0.085 / 3) ** 0.5)
    # VLAE has one run: no std, CI or test.
    vlae = rows[("vlae", "mig")]
    assert (vlae["n"], vlae["mean"]) == ("1", "0.1")
    assert vlae["std"] == vlae["ci_low"] == vlae["p_welch"] == ""
    # Every measured column is summarised, the training cost included.
    assert rows[("provlae", "train_seconds")]["n"] == "1"
    assert ("provlae", "info_l3") in rows and ("provlae", "seed") not in rows


def test_results_md_has_the_statistics_and_lists_what_is_missing(
        written_grid):
    text = (written_grid["out"] / "results.md").read_text()
    assert ("| provlae | 0.400 ± 0.200 (n=3) | 0.200 ± 0.173 (n=3) | "
            "0.700 ± 0.200 (n=3) | 0.300 ± 0.000 (n=3) | "
            "9.000 ± 3.000 (n=3) |  |") in text
    assert "| vlae | 0.100 (n=1) | 0.100 (n=1) | 0.500 (n=1) | " \
           "0.100 (n=1) | 3.000 (n=1) |  |" in text
    # The CIs (see the summary.csv test), n/a for one run.
    assert "| provlae | [0.200, 0.600] | [0.100, 0.400] | [0.500, 0.900] | " \
           "[0.300, 0.300] | [6.000, 12.000] |" in text
    assert "| vlae | n/a | n/a | n/a | n/a | n/a |" in text
    assert "| beta_vae | MIG | " in text and "| 0.2 | 1.78 | 1.00 |" in text
    assert "| vlae | MIG | n/a | n/a | n/a | n/a |" in text
    assert "Missing (3 of 9 runs, not in the tables):" in text
    # Which ladder holds each factor: every hand-written MI matrix row f is
    # 0.1 (f + j) over the 6 latents j, largest at j = 5, ladder 3; the
    # beta-VAE's one ladder has no row.
    assert "| model | scale | orientation | posX | posY |" in text
    assert "| provlae | L3 ×3 (0.50) | L3 ×3 (0.60) | L3 ×3 (0.70) | " \
           "L3 ×3 (0.80) |" in text
    assert "| vlae | L3 ×1 (0.50) |" in text and "| beta_vae | L" not in text
    missing = [line for line in text.splitlines() if line.startswith("- ds")]
    assert [line.split(":")[0] for line in missing] == [
        "- dsprites/vlae/seed1", "- dsprites/vlae/seed2",
        "- dsprites/beta_vae/seed2"]
    assert "vlae/seed1/metrics.json: unreadable" in missing[0]
    assert "training unfinished" in missing[1]
    assert missing[2].endswith(": training diverged: The loss became nan at "
                               "stage 1, epoch 1, step 17. The last good "
                               "checkpoint is kept.")
    # The budget as run, in words, and its flags; the methods.
    assert ("- dSprites: 4 steps of 128 per stage on a 512-image subset, "
            "fade-in over 2 steps; metrics on a seeded 512-image subset") \
        in text
    assert "--max_examples=512" in text and "--mode=3" in text
    assert "percentile bootstrap over seeds (10,000 resamples" in text
    # The console says what is missing too.
    assert "vlae/seed1/metrics.json: unreadable" in \
        written_grid["result"].stdout


def test_collect_draws_the_metrics_flow_mi_matrices_and_traversals(
        written_grid):
    out = written_grid["out"]
    names = ["dsprites_mig", "dsprites_mig_sup", "dsprites_factor_metric",
             "dsprites_mig_histogram", "dsprites_information_flow",
             "dsprites_provlae_mi_matrix", "dsprites_vlae_mi_matrix",
             "dsprites_beta_vae_mi_matrix"]
    for name in names:
        png = out / "plots" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    runs = [collect.read_run(grid.Cell("dsprites", "provlae", seed, "smoke",
                                       str(out)), json.loads(Path(
        out, "dsprites", "provlae", f"seed{seed}", "metrics.json"
    ).read_text())) for seed in range(3)]
    from provlae_tf.experiments.plots import flow_means
    means = flow_means(runs, "provlae")
    assert list(means) == [1, 2, 3]
    np.testing.assert_allclose(means[3], [3.0, 4.0, 7.0])
    np.testing.assert_allclose(means[2], [0.0, 4.0, 7.0])
    assert run_figures.median_run(runs, "provlae").cell.seed == 1
    # The median seed's traversal, cut into its top and bottom ladder:
    # rows 0-1 (greys 10, 50) and rows 4-5 (170, 210), 2 * 66 + 2 high.
    from PIL import Image
    for which, greys in (("top", ROW_GREY[:2]), ("bottom", ROW_GREY[4:])):
        image = np.asarray(Image.open(
            out / "plots" / f"dsprites_provlae_traversal_{which}.png"))
        assert image.shape == (134, 100)
        assert image[0, 50] == 255 and image[-1, 50] == 255
        assert [image[2 + 32 + 66 * r, 50] for r in (0, 1)] == greys


def test_the_export_rebuilds_the_same_tables(written_grid):
    """The exported copies (small outputs, no checkpoints) give the same
    results.csv and summary.csv as the run directories, the training cost
    included."""
    exported, again = written_grid["exported"], written_grid["again"]
    assert again.returncode == 0, again.stderr
    assert "6 of 9 runs collected, 3 missing" in again.stdout
    seed0 = exported / "dsprites" / "provlae" / "seed0"
    assert sorted(p.name for p in seed0.iterdir()) == [
        "config.json", "exported.json", "information.json",
        "invocations.jsonl", "metrics.json", "training.json"]
    # Only the median pro-VLAE seed's traversal is copied.
    assert (exported / "dsprites" / "provlae" / "seed1" / "images" /
            "stage3_traversal.png").exists()
    assert not (exported / "dsprites" / "vlae" / "seed1").exists()
    for name in ("results.csv", "summary.csv"):
        original = (written_grid["out"] / name).read_text()
        assert written_grid["first_export"][name] == original
        assert (exported / name).read_text() == original, name
    for name in ("dsprites_mig", "dsprites_provlae_traversal_top",
                 "dsprites_provlae_mi_matrix"):
        assert (exported / "plots" / f"{name}.png").exists()


def test_a_rerun_skips_the_diverged_cell_and_names_its_step(written_grid,
                                                           tmp_path):
    """The diverged beta-VAE seed 2 is not resumed (it would replay the
    divergence) unless --retry_diverged asks; a resumed log that goes on
    past the divergence is an ordinary unfinished run again."""
    import shutil
    out = tmp_path / "out"
    shutil.copytree(written_grid["out"] / "dsprites", out / "dsprites")
    result = run_experiments("--budget=smoke", "--models=beta_vae",
                             "--seeds=1,2", f"--out_dir={out}")
    assert result.returncode == 0, result.stderr
    assert ("dsprites/beta_vae/seed2: training diverged, skipped (The loss "
            "became nan at stage 1, epoch 1, step 17. The last good "
            "checkpoint is kept.); --retry_diverged resumes it"
            in result.stdout)
    assert "starting" not in result.stdout  # nothing was trained
    assert "1 of 2 runs collected, 1 missing" in result.stdout
    cell = grid.Cell("dsprites", "beta_vae", 2, "smoke", str(out))
    assert status.cell_status(cell).state is status.State.DIVERGED
    log = Path(cell.run_dir, "train.log")
    log.write_text(log.read_text() + "2026-12-07 10:20:00 Resuming stage 1 "
                   "at step 16.\n")
    assert status.cell_status(cell).state is status.State.TRAINING


def test_a_grid_continues_from_its_exported_cells(written_grid, tmp_path):
    """A new out_dir with the export: the exported cells are finished (not
    trained again), and a conflicting exported cell stops the grid."""
    exported = written_grid["exported"]
    fresh = tmp_path / "fresh"
    result = run_experiments("--budget=smoke", "--models=provlae",
                             "--seeds=0,1,2", f"--out_dir={fresh}",
                             f"--export_dir={exported}")
    assert result.returncode == 0, result.stderr
    for seed in range(3):
        assert (f"dsprites/provlae/seed{seed}: finished (exported in "
                f"{exported}), skipped") in result.stdout
    assert "3 of 3 runs collected" in result.stdout
    assert sorted(os.listdir(fresh)) == ["plots", "results.csv",
                                         "results.md", "summary.csv"]
    # Another configuration in the export directory is refused.
    copy = tmp_path / "copy"
    import shutil
    shutil.copytree(exported / "dsprites", copy / "dsprites")
    config = copy / "dsprites" / "provlae" / "seed1" / "config.json"
    config.write_text(config.read_text().replace('"seed": 1', '"seed": 5'))
    refused = run_experiments("--budget=smoke", "--models=provlae",
                              "--seeds=0,1", f"--out_dir={tmp_path / 'b'}",
                              f"--export_dir={copy}")
    assert refused.returncode == 1
    assert ("cell dsprites/provlae/seed1: " in refused.stderr and
            "holds another configuration (train.seed=5 there, 1 expected)"
            in refused.stderr and "another --export_dir" in refused.stderr)
    assert "nothing was run" in refused.stderr
    assert not (tmp_path / "b").exists()


def test_an_exported_cell_is_finished_only_as_it_was_scored(tmp_path):
    """An exported copy has no checkpoint: scored at its last stage with
    the cell's options it is finished, else a conflict (never resumed)."""
    cell = grid.Cell("dsprites", "beta_vae", 0, "smoke", str(tmp_path))
    expected = status.expected_config(cell)
    run = Path(cell.run_dir)
    run.mkdir(parents=True)
    (run / "config.json").write_text(expected.to_json())
    assert status.cell_status(cell).state is status.State.TRAINING
    (run / export.RECORD).write_text("{}")
    stale = status.cell_status(cell)
    assert stale.state is status.State.CONFLICT
    assert "exported copy" in stale.reason and "no " in stale.reason
    report = {"stage": 1, "kl": [1.0],
              "options": dataclasses.asdict(expected.eval)}
    (run / "metrics.json").write_text(json.dumps(report))
    assert status.cell_status(cell).state is status.State.FINISHED
    (run / "metrics.json").write_text(json.dumps({**report, "stage": 0}))
    assert status.cell_status(cell).state is status.State.CONFLICT
    # locate: finished in the export directory though new in out_dir.
    (run / "metrics.json").write_text(json.dumps(report))
    here = dataclasses.replace(cell, out_dir=str(tmp_path / "elsewhere"))
    found = status.locate(here, expected, str(tmp_path))
    assert found.state is status.State.FINISHED
    assert found.cell.run_dir == cell.run_dir
    assert status.locate(here, expected).state is status.State.NEW


def test_a_missing_traversal_is_a_note_not_a_failure(tmp_path):
    cell = grid.Cell("dsprites", "provlae", 0, "smoke", str(tmp_path))
    result = collect.RunResult(cell, {"stage": 3, "mig": 0.5}, 3, {}, {})
    g = grid.make_grid(["dsprites"], ["provlae"], [0], "smoke",
                       str(tmp_path))
    paths, notes = run_figures.plot_run_figures(str(tmp_path), g, [result])
    assert paths == [] and len(notes) == 2
    assert notes[0].endswith(f"dsprites/provlae/seed0: no {cell.run_dir}/"
                             "images/stage3_traversal.png)")


def test_training_figures_sum_the_stages_of_training_json(tmp_path):
    """training.json as the trainer adds to it (two epochs of stage 1, one
    of stage 2): the totals over its stages; None without the file."""
    from provlae_tf import run_files
    run_files.record_training(str(tmp_path), 1, 10.0, 256, 2)
    run_files.record_training(str(tmp_path), 1, 12.5, 256, 2)
    run_files.record_training(str(tmp_path), 2, 20.25, 128, 1)
    assert collect.training_seconds(str(tmp_path)) == 10.0 + 12.5 + 20.25
    assert collect.training_images(str(tmp_path)) == 640
    saved = json.loads((tmp_path / "training.json").read_text())
    assert saved["stages"]["1"] == {"seconds": 22.5, "images": 512,
                                    "steps": 4}
    assert collect.training_seconds(str(tmp_path / "none")) is None


def test_collect_on_a_folder_without_runs_is_one_line(tmp_path):
    result = run_experiments("--collect", "--budget=smoke",
                             f"--out_dir={tmp_path}")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"--out_dir={tmp_path}: none of the grid's 9 runs is finished" \
        in lines[0]
    assert not (tmp_path / "results.csv").exists()


def test_a_run_directory_of_another_configuration_is_refused(tmp_path):
    seed1 = grid.Cell("dsprites", "provlae", 1, "smoke", str(tmp_path))
    seed0 = dataclasses.replace(seed1, seed=0)
    Path(seed0.run_dir).mkdir(parents=True)
    Path(seed0.run_dir, "config.json").write_text(
        status.expected_config(seed1).to_json())
    result = run_experiments("--budget=smoke", "--models=provlae",
                             "--seeds=0", f"--out_dir={tmp_path}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert ("cell dsprites/provlae/seed0: " in result.stderr
            and "holds another configuration (train.seed=1 there, 0 "
                "expected)" in result.stderr)
    assert "nothing was run" in result.stderr
    assert sorted(os.listdir(seed0.run_dir)) == ["config.json"]
    assert not (tmp_path / "logs").exists()


# -------------------------------------------------------- the smoke grid
def _run_files(out):
    """``{path: mtime}`` of every file the cells wrote."""
    return {p: p.stat().st_mtime_ns for p in out.rglob("*")
            if p.is_file() and p.parent.name not in ("plots", "logs")
            and p.name not in ("results.csv", "results.md", "summary.csv")}


@pytest.fixture(scope="module")
def smoke_grid(tmp_path_factory):
    """The smoke grid (pro-VLAE and beta-VAE, seed 0): the beta-VAE cell
    run by hand from its --list line while the runner runs the pro-VLAE
    one, then the whole grid, which finds both finished."""
    root = tmp_path_factory.mktemp("smoke_grid")
    env = dict(os.environ)
    out = root / "out"
    args = ["--budget=smoke", "--models=provlae,beta_vae", "--seeds=0",
            f"--out_dir={out}"]
    listed = run_experiments(*args, "--list", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    with open(root / "by_hand.log", "w") as log:
        by_hand = subprocess.Popen(["bash", "-c", lines[-1]], cwd="/",
                                   env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            first = run_experiments("--budget=smoke", "--models=provlae",
                                    "--seeds=0", f"--out_dir={out}", env=env)
        finally:
            by_hand.wait(timeout=900)
    written = _run_files(out)
    both = run_experiments(*args, env=env)
    return {"out": out, "lines": lines, "by_hand": by_hand.returncode,
            "by_hand_log": (root / "by_hand.log").read_text(),
            "first": first, "both": both, "written": written}


def test_a_listed_line_runs_as_printed(smoke_grid):
    lines = smoke_grid["lines"]
    assert len(lines) == 2 and "--model=beta_vae" in lines[1]
    assert smoke_grid["by_hand"] == 0, smoke_grid["by_hand_log"]
    run = smoke_grid["out"] / "dsprites" / "beta_vae" / "seed0"
    assert (run / "stages" / "stage1" / "ckpt.index").exists()
    assert json.loads((run / "metrics.json").read_text())["stage"] == 1


def test_the_smoke_grid_runs_and_tabulates(smoke_grid):
    first, out = smoke_grid["first"], smoke_grid["out"]
    assert first.returncode == 0, first.stdout + first.stderr
    assert "dsprites/provlae/seed0: done" in first.stdout
    both = smoke_grid["both"]
    assert both.returncode == 0, both.stdout + both.stderr
    assert "2 of 2 runs collected" in both.stdout
    with open(out / "results.csv") as f:
        rows = {r["model"]: r for r in csv.DictReader(f)}
    assert sorted(rows) == ["beta_vae", "provlae"]
    pro, beta = rows["provlae"], rows["beta_vae"]
    for name in ("mig", "mig_sup", "factor_metric", "mig_histogram"):
        for ladder in (1, 2, 3):
            assert 0 <= float(pro[f"{name}_l{ladder}"]) <= 1 + 1e-6
        assert beta[f"{name}_l2"] == ""
    # 512 images in 4 batches of 128: 3 stages x 1 epoch (pro-VLAE) and
    # 3 x 1 epochs in one stage (beta-VAE) are 12 steps each.
    assert int(pro["train_images"]) == int(beta["train_images"]) == 12 * 128
    assert 0 < float(pro["train_seconds"])
    assert (out / "plots" / "dsprites_information_flow.png").exists()
    text = (out / "results.md").read_text()
    assert "| provlae | " in text and "| beta_vae | " in text
    # One seed each: summary.csv has the means, no CI and no test.
    summary = _summary(out / "summary.csv")
    assert float(summary[("provlae", "mig")]["mean"]) == float(pro["mig"])
    assert summary[("beta_vae", "mig")]["ci_low"] == ""
    assert summary[("beta_vae", "mig")]["p_welch"] == ""
    # The trainer's real stage-end traversal (3 ladders x 2 latents of 64
    # pixels, 2-pixel padding) cut into its top and bottom ladder.
    from PIL import Image
    for which in ("top", "bottom"):
        crop = Image.open(out / "plots" /
                          f"dsprites_provlae_traversal_{which}.png")
        assert crop.size[1] == 2 * (64 + 2) + 2
    assert "figure not drawn" not in both.stdout
    assert (out / "plots" / "dsprites_beta_vae_mi_matrix.png").exists()


def test_a_finished_grid_is_skipped(smoke_grid):
    both = smoke_grid["both"].stdout
    assert "dsprites/provlae/seed0: finished, skipped" in both
    assert "dsprites/beta_vae/seed0: finished, skipped" in both
    assert _run_files(smoke_grid["out"]) == smoke_grid["written"]
