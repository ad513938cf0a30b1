"""Ctrl-C / SIGTERM on the command line: save, exit 130, resume with the same
command. (A file of its own so that it runs beside the smoke run.)

The interrupted command is a process of its own (a real signal, its real
exit status); the resuming one runs in this process (tests/command_line.py).
"""

import signal
import subprocess
import sys
import time

from test_main import SMOKE
from tests.command_line import REPO, process_env, run_main


def test_sigterm_saves_and_the_same_command_resumes(tmp_path):
    run_dir = tmp_path / "run"
    args = [f"--flagfile={SMOKE}", f"--checkpoint_dir={run_dir}",
            f"--data_dir={tmp_path}", "--max_examples=512", "--log_every=1",
            "--info_images=0"]
    process = subprocess.Popen([sys.executable, "-m", "provlae_tf.main", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=process_env(), cwd=REPO)
    log = run_dir / "train.log"
    # Wait for stage 2 to start (no fixed sleep: poll the log, bounded).
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if log.exists() and "Stage 2:" in log.read_text():
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert "Interrupted; saved at stage 2" in stderr
    result = run_main(*args)
    assert result.returncode == 0, result.stderr
    assert "Resuming" in result.stdout and "at stage 2" in result.stdout
    assert "Stage 3 finished" in log.read_text()
