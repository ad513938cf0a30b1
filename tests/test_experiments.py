"""The experiment runner (python -m provlae_tf.experiments): grids and their
command lines, bad input, collecting hand-written run directories with
known means and standard deviations, and the smoke grid end to end."""

import csv
import dataclasses
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from provlae_tf.errors import UserError
from provlae_tf.experiments import collect, grid, runner, status

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
    cell = grid.Cell("3dshapes", "provlae_nokl", 7, "cpu", "out")
    assert cell.flags() == [
        "--dataset=3dshapes", "--model=provlae", "--seed=7",
        "--checkpoint_dir=" + os.path.join("out", "3dshapes", "provlae_nokl",
                                           "seed7"),
        "--max_examples=49152", "--epoch_size=1", "--fade_in_duration=128",
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
                       "expected one of provlae, vlae, beta_vae"):
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
    assert pro.data.max_examples == 512 and pro.eval.mig_samples == 500


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


@pytest.mark.parametrize("args, message", [
    (["--models=provlae,foo"], "--models=foo: unknown model; expected one "
     "of provlae, vlae, beta_vae, provlae_nofade, provlae_nokl."),
    (["--datasets=mnist2"], "--datasets=mnist2: unknown dataset; expected "
     "one of dsprites, 3dshapes, celeba, mnist."),
    (["--budget=huge"], "--budget=huge: unknown budget; expected one of "
     "smoke, cpu, full."),
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
def _metrics(stage, options, kl, information, all_ladders, per_ladder):
    """A metrics.json as --mode=3 writes it (the fields the tables read)."""
    return {"stage": stage, "options": options, "dataset": "dsprites",
            "num_images": 737280, "seed": 0, "kl": kl,
            "information": information, "all": all_ladders,
            "ladders": {str(l): v for l, v in enumerate(per_ladder, 1)},
            "seconds": {}}


def _scores(mig, mig_sup, factor, hist):
    return {"mig": mig, "mig_sup": mig_sup, "factor_metric": factor,
            "factor_metric_train": factor, "mig_histogram": hist,
            "active_units": [0, 1]}


def _write_run(cell, stage, metrics=None, flow=None, step=None):
    """config.json, the last stage's snapshot, metrics.json (a dict, or
    text for a damaged file), information.json and a rolling checkpoint."""
    expected = status.expected_config(cell)
    run = Path(cell.run_dir)
    (run / "stages" / f"stage{stage}").mkdir(parents=True)
    (run / "stages" / f"stage{stage}" / "ckpt.index").write_bytes(b"")
    (run / "config.json").write_text(expected.to_json())
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
    if step is not None:
        (run / "ckpt").mkdir()
        (run / "ckpt" / f"ckpt-{step}.index").write_bytes(b"")


# pro-VLAE, seeds 0..2. By hand (sample std, n - 1 = 2):
#   MIG 0.2, 0.4, 0.6: mean 0.4, deviations -0.2, 0, 0.2 -> std 0.2
#   MIG-sup 0.1, 0.1, 0.4: mean 0.2, squares .01 + .01 + .04 = .06 -> 0.1732
#   factor 0.5, 0.7, 0.9: 0.7 +- 0.2;  histogram 0.3 three times: 0.3 +- 0
#   KL (sum over ladders) 6, 9, 12: 9 +- 3
PRO_SCORES = [(0.2, 0.1, 0.5, 0.3), (0.4, 0.1, 0.7, 0.3),
              (0.6, 0.4, 0.9, 0.3)]
PRO_KL = [[1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [3.0, 4.0, 5.0]]
# I(x; z_l) per stage end, seeds 0 and 1 (seed 2 ran with --info_images=0).
# Mean at the end of stage 3: [(2 + 4) / 2, (3 + 5) / 2, (6 + 8) / 2].
PRO_FLOW = [{1: [0.0, 0.0, 6.0], 2: [0.0, 3.0, 6.0], 3: [2.0, 3.0, 6.0]},
            {1: [0.0, 0.0, 8.0], 2: [0.0, 5.0, 8.0], 3: [4.0, 5.0, 8.0]}]


@pytest.fixture(scope="module")
def written_grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("written") / "out"
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
                   step=12 if seed == 0 else None)
    _write_run(cell("beta_vae", 0), 1,
               {"kl": [7.5], "information": [4.25],
                "all_ladders": _scores(0.05, 0.06, 0.07, 0.08),
                "per_ladder": [_scores(0.05, 0.06, 0.09, 0.08)]})
    _write_run(cell("vlae", 1), 3, "{not json")   # scored, file damaged
    Path(cell("vlae", 2).run_dir).mkdir(parents=True)  # training unfinished
    Path(cell("vlae", 2).run_dir, "config.json").write_text(
        status.expected_config(cell("vlae", 2)).to_json())
    result = run_experiments("--collect", "--budget=smoke", "--seeds=0,1,2",
                             "--models=provlae,vlae,beta_vae",
                             f"--out_dir={out}")
    return out, result


def test_collect_tabulates_the_finished_runs(written_grid):
    out, result = written_grid
    assert result.returncode == 0, result.stderr
    assert "4 of 9 runs collected, 5 missing" in result.stdout
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["model"], r["seed"], r["budget"]) for r in rows] == [
        ("provlae", "0", "smoke"), ("provlae", "1", "smoke"),
        ("provlae", "2", "smoke"), ("beta_vae", "0", "smoke")]
    pro0, beta = rows[0], rows[3]
    assert float(pro0["mig"]) == 0.2 and float(pro0["factor_metric"]) == 0.5
    assert (pro0["stage"], pro0["eval_images"]) == ("3", "737280")
    assert float(pro0["mig_l2"]) == 0.01 * 2
    assert float(pro0["kl"]) == 6.0 and float(pro0["kl_l3"]) == 3.0
    assert float(pro0["info_l2"]) == 1.5
    assert int(pro0["train_images"]) == 12 * 128   # ckpt-12, batch 128
    assert rows[1]["train_images"] == "" and pro0["train_seconds"] == ""
    # The beta-VAE has one ladder: its ladder-2 and -3 columns stay empty.
    assert float(beta["factor_metric_l1"]) == 0.09
    assert float(beta["info_l1"]) == 4.25
    assert beta["mig_l2"] == beta["kl_l3"] == beta["info_l3"] == ""


def test_results_md_has_mean_std_n_and_lists_what_is_missing(written_grid):
    out, _ = written_grid
    text = (out / "results.md").read_text()
    assert ("| provlae | 0.400 ± 0.200 (n=3) | 0.200 ± 0.173 (n=3) | "
            "0.700 ± 0.200 (n=3) | 0.300 ± 0.000 (n=3) | "
            "9.000 ± 3.000 (n=3) |  |") in text
    assert "| beta_vae | 0.050 (n=1) | 0.060 (n=1) | 0.070 (n=1) | " \
           "0.080 (n=1) | 7.500 (n=1) |  |" in text
    assert "| vlae |" not in text
    assert "Missing (5 of 9 runs, not in the table):" in text
    missing = [line for line in text.splitlines() if line.startswith("- ds")]
    assert [line.split(":")[0] for line in missing] == [
        "- dsprites/vlae/seed0", "- dsprites/vlae/seed1",
        "- dsprites/vlae/seed2", "- dsprites/beta_vae/seed1",
        "- dsprites/beta_vae/seed2"]
    assert "vlae/seed1/metrics.json: unreadable" in missing[1]
    assert "training unfinished" in missing[2]
    assert "--max_examples=512" in text and "--mode=3" in text
    # The console says the same.
    assert "vlae/seed1/metrics.json: unreadable" in written_grid[1].stdout


def test_collect_draws_the_metrics_and_the_information_flow(written_grid):
    out, _ = written_grid
    for name in ("mig", "mig_sup", "factor_metric", "mig_histogram",
                 "information_flow"):
        png = out / "plots" / f"dsprites_{name}.png"
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


def test_summaries_are_mean_sample_std_and_n():
    s = collect.summarize([1.0, None, 2.0, float("nan"), 4.0, 5.0])
    # 1, 2, 4, 5: mean 3; squares 4 + 1 + 1 + 4 = 10; 10 / 3 -> std 1.8257
    assert (s.mean, s.n) == (3.0, 4)
    assert s.std == pytest.approx((10 / 3) ** 0.5)
    one = collect.summarize([0.25])
    assert one.n == 1 and one.mean == 0.25 and np.isnan(one.std)
    assert collect.summarize([None]) is None


def test_training_seconds_sum_each_event_file(tmp_path):
    """Two hand-made event files (TFRecord framing, Event protos with
    wall_time and step): 142.5 - 100 and 20.25 - 10 seconds."""
    def record(wall_time, step):
        proto = b"\x09" + struct.pack("<d", wall_time) + bytes([0x10, step])
        return struct.pack("<Q", len(proto)) + b"\0" * 4 + proto + b"\0" * 4
    board = tmp_path / "tensorboard"
    board.mkdir()
    (board / "events.out.tfevents.1").write_bytes(
        record(100.0, 0) + record(120.0, 4) + record(142.5, 8))
    # The second file was cut short by a kill: its last record is partial.
    (board / "events.out.tfevents.2").write_bytes(
        record(10.0, 0) + record(20.25, 9) + record(99.0, 10)[:-6])
    assert collect.training_seconds(str(tmp_path)) == 42.5 + 10.25
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
            and not p.name.startswith("results.")}


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


def test_a_finished_grid_is_skipped(smoke_grid):
    both = smoke_grid["both"].stdout
    assert "dsprites/provlae/seed0: finished, skipped" in both
    assert "dsprites/beta_vae/seed0: finished, skipped" in both
    assert _run_files(smoke_grid["out"]) == smoke_grid["written"]
