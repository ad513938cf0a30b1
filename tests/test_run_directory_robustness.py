"""A run directory that cannot be written, is a file, fills the disk or holds
a damaged checkpoint: one clear line on stderr naming the file or flag and
what to do, a non-zero exit, no traceback, and the previous good checkpoint
left intact and loadable (issue 10, item 6).

The command-line cases run tiny runs (256 images, 4 steps an epoch, 1 epoch
a stage: rolling checkpoints ckpt-4, ckpt-8, ckpt-12), in this process
(tests/command_line.py) except those run as another user, which need a
process of their own; the others drive the trainer and the checkpoint
helpers.
"""

import errno
import json
import os
import platform
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from provlae_tf.api import load_checkpoint
from provlae_tf.errors import UserError
from provlae_tf.fileio import atomic_save, check_writable_directory
from provlae_tf.train import checkpoint_writes, checkpoints, run_directory
from test_main import SMOKE
from test_trainer import make_config, make_trainer
from tests.command_line import REPO, run_main, run_process

TINY = [f"--flagfile={SMOKE}", "--max_examples=256", "--batch_size=64",
        "--info_images=0"]
COMPLETED = "state/completed_stages/.ATTRIBUTES/VARIABLE_VALUE"


def tiny_args(run_dir, data_dir):
    return [*TINY, f"--checkpoint_dir={run_dir}", f"--data_dir={data_dir}"]


def error_line(result) -> str:
    """The one ``provlae_tf:`` line of a refused command (and no traceback)."""
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [l for l in result.stderr.splitlines()
             if l.startswith("provlae_tf: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def snapshot_of(directory: Path) -> dict:
    """Every file under ``directory`` with its size and modification time."""
    return {p: (p.stat().st_size, p.stat().st_mtime_ns)
            for p in directory.rglob("*") if p.is_file()}


def leftovers(run_dir: Path) -> list:
    """Temporary or half-written files a failed write might leave."""
    return [p for p in run_dir.rglob("*")
            if p.name.startswith(".tmp-") or "_temp" in p.name
            or "tempstate" in p.name or ".previous" in p.name]


def completed_stages(prefix) -> int:
    return int(tf.train.load_checkpoint(str(prefix)).get_tensor(COMPLETED))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished tiny run of all three stages (copied by the tests that
    damage it)."""
    base = tmp_path_factory.mktemp("finished")
    run_dir = base / "run"
    result = run_main(*tiny_args(run_dir, base / "no_data"))
    assert result.returncode == 0, result.stderr
    assert tf.train.latest_checkpoint(str(run_dir / "ckpt")).endswith(
        "ckpt-12")
    return run_dir


# ------------------------------------------------------- (a) not writable
def _world_readable(path: Path) -> bool:
    """Whether every folder from ``path`` up is readable and searchable by
    any user (and the file itself readable)."""
    path = path.resolve()
    for p in [path, *path.parents]:
        mode = p.stat().st_mode
        need = 0o005 if p.is_dir() else 0o004
        if mode & need != need:
            return False
    return True


def _as_another_user():
    """How to run the command so that file permissions apply to it.

    Tests often run as root, whom ``chmod`` does not stop. Then the command
    runs as the unprivileged uid 65534 ('nobody'), for which the kernel
    enforces the permissions: a real EACCES, not a simulation. None when
    that user could not even read the code (then the caller falls back).
    """
    if os.geteuid() != 0:
        return {}
    if not (_world_readable(REPO / "provlae_tf" / "main.py")
            and _world_readable(Path(sys.executable))
            and _world_readable(Path(tf.__file__))):
        return None
    return {"user": 65534, "group": 65534, "extra_groups": []}


@pytest.fixture
def shared_tmp():
    """A temporary folder that the unprivileged user can reach (pytest's
    tmp_path is private to its owner)."""
    base = Path(tempfile.mkdtemp(prefix="provlae-perm-"))
    base.chmod(0o755)
    yield base
    for p in [base, *base.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)
    shutil.rmtree(base, ignore_errors=True)


def test_new_checkpoint_dir_in_a_read_only_folder_is_refused(shared_tmp):
    """--checkpoint_dir inside a folder without write permission (0o555).

    As root the command runs as uid 65534 (see ``_as_another_user``). Where
    that user could not read the code, a path under /proc/sys stands in:
    procfs refuses to create directories even for root, so the refusal
    (here by the write-permission check, or else by the first write) is
    still the operating system's, not a simulation.
    """
    user = _as_another_user()
    locked = shared_tmp / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    run_dir = locked / "run"
    if user is None:
        run_dir = Path("/proc/sys/provlae_tf_test/run")
        user = {}
    result = run_process("provlae_tf.main",
                         *tiny_args(run_dir, shared_tmp / "no_data"), **user)
    line = error_line(result)
    assert f"--checkpoint_dir={run_dir}:" in line
    assert "writable" in line and "choose another --checkpoint_dir" in line
    assert not run_dir.exists()


def test_existing_run_made_read_only_is_refused_and_kept(finished_run,
                                                         shared_tmp,
                                                         monkeypatch):
    """Continuing a run whose directory became read-only (0o555, files
    0o444): refused before anything is written; the checkpoint still loads.

    As root the command runs as uid 65534 (``_as_another_user``), which may
    not write the root-owned directory. Where that user could not read the
    code, the same check runs in-process with ``os.access`` answering as the
    kernel would for an unprivileged user (a simulation, documented here).
    """
    run_dir = shared_tmp / "run"
    shutil.copytree(finished_run, run_dir)
    for p in [run_dir, *run_dir.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    before = snapshot_of(run_dir)
    user = _as_another_user()
    if user is None:
        monkeypatch.setattr(os, "access", lambda path, mode: False)
        with pytest.raises(UserError) as refused:
            check_writable_directory(str(run_dir))
        line = f"provlae_tf: {refused.value}"
    else:
        line = error_line(run_process(
            "provlae_tf.main", *tiny_args(run_dir, shared_tmp / "no_data"),
            **user))
    assert line == (f"provlae_tf: --checkpoint_dir={run_dir}: the directory "
                    "is not writable by this user; expected a writable "
                    "directory. Fix its permissions or choose another "
                    "--checkpoint_dir.")
    assert snapshot_of(run_dir) == before
    model, _ = load_checkpoint(str(run_dir))
    assert model.stage == 3


def test_write_failures_of_config_json_are_one_clear_error(tmp_path,
                                                           monkeypatch):
    """Permission denied or a full disk while config.json is written (the
    superuser is not stopped by permissions, so os-level writes are made to
    fail in-process): config.json keeps its content, no temporary file."""
    config = make_config(tmp_path / "run")
    run_directory.write_config(config, None)
    path = tmp_path / "run" / "config.json"
    text = path.read_text()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tempfile, "mkstemp", no_space)
    with pytest.raises(UserError) as refused:
        run_directory.write_config(config, config)
    assert str(refused.value) == (
        f"{path}: could not write it (No space left on device); nothing was "
        f"changed. Free disk space or make {path.parent} writable, then "
        "rerun.")
    assert path.read_text() == text
    monkeypatch.undo()

    def half_then_full(temp):
        with open(temp, "w") as f:
            f.write('{"half": ')
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), temp)

    with pytest.raises(UserError, match="config.json: could not write it"):
        atomic_save(str(path), half_then_full)
    assert path.read_text() == text
    assert not leftovers(tmp_path / "run")

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(os, "makedirs", denied)
    with pytest.raises(UserError, match=r"--checkpoint_dir=.*new: cannot "
                                        r"create it \(Permission denied\)"):
        run_directory.write_config(make_config(tmp_path / "new"), None)


def test_written_files_get_the_users_usual_mode(tmp_path):
    """Atomic writes go through a private temporary file; the file they
    leave has the mode of any new file under the umask (not 0600)."""
    previous = os.umask(0o027)
    try:
        path = atomic_save(str(tmp_path / "results.md"),
                           lambda temp: open(temp, "w").close())
    finally:
        os.umask(previous)
    assert os.stat(path).st_mode & 0o777 == 0o640


# ------------------------------------------------- (b) a file, not a folder
def test_each_invocation_records_tensorflow_and_its_cpu_kernels(tmp_path):
    config = make_config(tmp_path / "run")
    run_directory.write_config(config, None)
    run_directory.write_config(config, config)
    lines = (tmp_path / "run" / "invocations.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 2
    assert {r["tensorflow"] for r in records} == {tf.__version__}
    # The package asks for oneDNN unless TF_ENABLE_ONEDNN_OPTS=0 was set
    # (the Eigen case is checked by tests/test_fast_path.py's children);
    # x86-64 builds of TensorFlow have it.
    kernels = {r["cpu_kernels"] for r in records}
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0":
        assert kernels == {"Eigen"}
    elif platform.machine() in ("x86_64", "AMD64"):
        assert kernels == {"oneDNN"}
    else:
        assert kernels <= {"oneDNN", "Eigen"}


def test_checkpoint_dir_that_is_a_file_is_refused(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a run")
    line = error_line(run_main(*tiny_args(notes, tmp_path)))
    assert line == (f"provlae_tf: --checkpoint_dir={notes}: it is a file; "
                    "expected a directory (or a path where one can be "
                    "created). Choose another --checkpoint_dir.")
    assert notes.read_text() == "not a run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    # A folder under a file: the same check (no TensorFlow needed).
    below = notes / "run"
    with pytest.raises(UserError) as refused:
        check_writable_directory(str(below))
    assert str(refused.value) == (
        f"--checkpoint_dir={below}: {notes} is a file; expected a directory "
        "(or a path where one can be created). Choose another "
        "--checkpoint_dir.")


# --------------------------------------------------- (c) a full disk
def faulty_writes(monkeypatch, pattern, fail_at=1, error=None,
                  temp_folder=False):
    """The ``fail_at``-th checkpoint write whose prefix matches the regular
    expression ``pattern`` leaves half-written files and fails as a full
    disk does (and, with ``temp_folder``, leaves TensorFlow's temporary
    folder of a sharded save behind too)."""
    real_write = tf.train.Checkpoint._write
    seen = []

    def write(self, file_prefix, *args, **kwargs):
        prefix = str(file_prefix)
        if re.search(pattern, prefix):
            seen.append(prefix)
            if len(seen) == fail_at:
                parts = ((".data-00000-of-00001", 1000), (".index", 3))
                if temp_folder:
                    os.makedirs(prefix + "_temp", exist_ok=True)
                    parts = (("_temp/part-00000-of-00001.data-00000-of-00001"
                              ".tempstate1", 4096),) + parts
                for name, size in parts:
                    with open(prefix + name, "wb") as f:
                        f.write(b"\0" * size)
                raise error or tf.errors.ResourceExhaustedError(
                    None, None, prefix + ".index; No space left on device")
        return real_write(self, file_prefix, *args, **kwargs)

    monkeypatch.setattr(tf.train.Checkpoint, "_write", write)
    return seen


def test_full_disk_while_saving_keeps_the_previous_checkpoint(tmp_path,
                                                              monkeypatch):
    """The disk fills while stage 1's second epoch checkpoint (ckpt-8) is
    written: training stops with one line naming the checkpoint directory;
    ckpt-4 (the first epoch) is still the latest and loads; nothing
    half-written is left; config.json is whole; and the same command then
    resumes from ckpt-4 and finishes the stage."""
    run_dir = tmp_path / "run"
    args = [*tiny_args(run_dir, tmp_path / "no_data"), "--train_seq=1",
            "--epoch_size=2"]
    faulty_writes(monkeypatch, r"ckpt-8$", temp_folder=True)
    result = run_main(*args)
    monkeypatch.undo()
    line = error_line(result)
    assert result.returncode == 1
    assert line == (
        f"provlae_tf: Could not save a checkpoint in {run_dir}/ckpt: No space "
        "left on device. Nothing half-written is left and the previous "
        "checkpoint ckpt-4 is still the latest; free disk space (or make "
        f"--checkpoint_dir={run_dir} writable) and rerun the same command to "
        "resume from it.")
    latest = tf.train.latest_checkpoint(str(run_dir / "ckpt"))
    assert latest == str(run_dir / "ckpt" / "ckpt-4")
    assert completed_stages(latest) == 0
    model, config = load_checkpoint(str(run_dir))
    assert model.stage == 1 and config.train.epochs_per_stage == 2
    assert sorted(p.name for p in (run_dir / "ckpt").iterdir()) == [
        "checkpoint", "ckpt-4.data-00000-of-00001", "ckpt-4.index"]
    assert not leftovers(run_dir)

    resumed = run_main(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming" in resumed.stdout and "stage 1, epoch 2" in \
        resumed.stdout
    assert "Stage 1 finished" in resumed.stdout
    latest = tf.train.latest_checkpoint(str(run_dir / "ckpt"))
    assert latest.endswith("ckpt-8") and completed_stages(latest) == 1


def test_full_disk_at_the_stage_end_keeps_the_checkpoint_of_that_number(
        tmp_path, monkeypatch):
    """The end of a stage saves again under the step number of its last
    epoch's checkpoint (ckpt-6 here). TensorFlow would overwrite that file
    in place; a full disk then must not leave the latest checkpoint
    half-overwritten: ckpt-6 keeps its intact previous content."""
    seen = faulty_writes(monkeypatch, "ckpt-6", fail_at=2,
                         error=OSError(errno.ENOSPC,
                                       os.strerror(errno.ENOSPC)))
    trainer = make_trainer(tmp_path)
    with pytest.raises(UserError) as failed:
        trainer.run()
    assert len(seen) == 2
    assert str(failed.value) == (
        f"Could not save a checkpoint in {tmp_path}/ckpt: No space left on "
        "device. Nothing half-written is left and the previous checkpoint "
        "ckpt-6 is still the latest; free disk space (or make "
        f"--checkpoint_dir={tmp_path} writable) and rerun the same command "
        "to resume from it.")
    latest = tf.train.latest_checkpoint(str(tmp_path / "ckpt"))
    assert latest == str(tmp_path / "ckpt" / "ckpt-6")
    checkpoints.verify_checkpoint(latest)  # every tensor, checksums
    assert completed_stages(latest) == 0  # the last epoch's, as it was
    assert not leftovers(tmp_path)
    monkeypatch.undo()
    # The same command redoes the end of stage 1 and goes on.
    resumed = make_trainer(tmp_path, train_seq="1")
    resumed.run()
    assert completed_stages(checkpoints.latest_checkpoint(str(tmp_path))) == 1
    assert (tmp_path / "stages" / "stage1" / "ckpt.index").exists()


def test_full_disk_while_writing_a_stage_snapshot(tmp_path, monkeypatch):
    """The snapshot of stage 1 cannot be written: one line naming it,
    nothing half-written, and the rolling checkpoint (the last epoch of
    stage 1) still the latest, so a rerun writes the snapshot."""
    faulty_writes(monkeypatch, re.escape(os.path.join("stages", ".tmp-")))
    trainer = make_trainer(tmp_path)
    with pytest.raises(UserError) as failed:
        trainer.run()
    snapshot = tmp_path / "stages" / "stage1"
    assert str(failed.value) == (
        f"Could not write the snapshot of stage 1 in {snapshot}: No space "
        "left on device. Nothing half-written is left; free disk space (or "
        f"make {tmp_path} writable) and rerun the same command: it resumes "
        "from the last checkpoint and writes the snapshot.")
    assert not snapshot.exists() and not leftovers(tmp_path)
    latest = tf.train.latest_checkpoint(str(tmp_path / "ckpt"))
    assert latest.endswith("ckpt-6") and completed_stages(latest) == 0
    monkeypatch.undo()
    make_trainer(tmp_path, train_seq="1").run()
    assert (snapshot / "ckpt.index").exists()


def test_a_failed_save_leaves_earlier_checkpoints_alone(tmp_path):
    """save_checkpoint's bookkeeping on its own: keeping 2 checkpoints, a
    failed overwrite of the latest number restores its name and the state
    file; a failed new number is removed; the older one is never touched."""
    v = tf.Variable(np.arange(10, dtype=np.float32))
    checkpoint = tf.train.Checkpoint(v=v)
    manager = tf.train.CheckpointManager(checkpoint, str(tmp_path / "ckpt"),
                                         max_to_keep=2,
                                         checkpoint_name="ckpt")
    checkpoint_writes.save_checkpoint(manager, 1, str(tmp_path))
    v.assign(v + 1)
    checkpoint_writes.save_checkpoint(manager, 2, str(tmp_path))
    before = snapshot_of(tmp_path / "ckpt")

    def failing_save(checkpoint_number, **kwargs):
        prefix = tmp_path / "ckpt" / f"ckpt-{checkpoint_number}"
        Path(str(prefix) + ".index").write_bytes(b"\0")
        raise tf.errors.PermissionDeniedError(None, None,
                                              f"{prefix}; Permission denied")

    real_save, manager.save = manager.save, failing_save
    for number in (2, 3):
        with pytest.raises(UserError, match="Permission denied. Nothing "
                                            "half-written is left and the "
                                            "previous checkpoint ckpt-2 is "
                                            "still the latest"):
            checkpoint_writes.save_checkpoint(manager, number, str(tmp_path))
        state = tf.train.get_checkpoint_state(str(tmp_path / "ckpt"))
        assert [os.path.basename(p) for p in
                state.all_model_checkpoint_paths] == ["ckpt-1", "ckpt-2"]
        assert {p: s for p, (s, _) in snapshot_of(tmp_path / "ckpt").items()
                if p.name != "checkpoint"} == \
            {p: s for p, (s, _) in before.items() if p.name != "checkpoint"}
        checkpoints.verify_checkpoint(state.model_checkpoint_path)
    manager.save = real_save
    v.assign(v + 1)
    checkpoint_writes.save_checkpoint(manager, 2, str(tmp_path))  # overwrites well
    reader = checkpoints.verify_checkpoint(str(tmp_path / "ckpt" / "ckpt-2"))
    np.testing.assert_array_equal(
        reader.get_tensor("v/.ATTRIBUTES/VARIABLE_VALUE"), np.arange(10) + 2)
    assert not leftovers(tmp_path)


# ------------------------------------------- (d) a damaged latest checkpoint
@pytest.mark.parametrize("part", ["index", "data-00000-of-00001"])
def test_truncated_checkpoint_is_named_and_nothing_changes(
        finished_run, tmp_path, part):
    """The latest checkpoint's file cut in half (a kill or a full disk while
    it was written): rerunning the command refuses with one line naming the
    file and saying which intact checkpoint it resumes from once the damaged
    files are moved away; nothing in the run directory changes."""
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    damaged = run_dir / "ckpt" / f"ckpt-12.{part}"
    os.truncate(damaged, damaged.stat().st_size // 2)
    before = snapshot_of(run_dir)
    line = error_line(run_main(*tiny_args(run_dir, tmp_path / "no_data")))
    assert line.startswith(f"provlae_tf: {damaged}: damaged checkpoint (")
    assert line.endswith(
        "); it was probably cut short by a kill or a full disk. Nothing was "
        f"changed. Move ckpt-12.index and ckpt-12.data-* out of "
        f"{run_dir / 'ckpt'} (or delete them) and rerun the same command to "
        "resume from the snapshot taken at the end of stage 3 "
        "(stages/stage3).")
    assert snapshot_of(run_dir) == before
    # Loading it names the file too; the stage snapshots still load.
    with pytest.raises(UserError, match=f"{damaged}: damaged checkpoint"):
        load_checkpoint(str(run_dir))
    model, _ = load_checkpoint(str(run_dir), stage=3)
    assert model.stage == 3


def test_moving_the_damaged_checkpoint_away_resumes_from_the_snapshot(
        finished_run, tmp_path):
    """What the message says to do works: with ckpt-12 moved out of ckpt/,
    the same command resumes from the snapshot of stage 3 (all done)."""
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    aside = tmp_path / "damaged"
    aside.mkdir()
    for p in (run_dir / "ckpt").glob("ckpt-12.*"):
        p.rename(aside / p.name)
    result = run_main(*tiny_args(run_dir, tmp_path / "no_data"))
    assert result.returncode == 0, result.stderr
    assert f"from {run_dir}/stages/stage3/ckpt" in result.stdout
    assert "Stage 3 is already complete" in result.stdout


def test_damaged_latest_with_an_older_rolling_checkpoint(tmp_path):
    """Keeping two rolling checkpoints, the message offers the older one,
    and once the damaged files are moved away training resumes from it."""
    trainer = make_trainer(tmp_path, train_seq="1", max_to_keep=2)
    trainer.run()  # ckpt-3 (epoch 1) and ckpt-6 (end of stage 1)
    latest = checkpoints.latest_checkpoint(str(tmp_path))
    assert latest.endswith("ckpt-6")
    index = Path(latest + ".index")
    index.write_bytes(index.read_bytes()[:20])
    with pytest.raises(UserError) as refused:
        checkpoints.read_completed_stages(str(tmp_path))
    message = str(refused.value)
    assert message.startswith(f"{index}: damaged checkpoint (")
    assert "\n" not in message
    assert message.endswith("rerun the same command to resume from the "
                            "checkpoint ckpt/ckpt-3.")
    with pytest.raises(UserError, match="damaged checkpoint"):
        make_trainer(tmp_path, train_seq="1", max_to_keep=2).run()
    for p in tmp_path.glob("ckpt/ckpt-6.*"):
        p.unlink()
    assert checkpoints.latest_checkpoint(str(tmp_path)).endswith("ckpt-3")
    assert checkpoints.read_completed_stages(str(tmp_path)) == 0
    resumed = make_trainer(tmp_path, train_seq="1", max_to_keep=2)
    assert resumed.restore() and int(resumed.state.epoch) == 1
