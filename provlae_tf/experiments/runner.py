"""Running cells: their commands as child processes, N at once.

A cell runs the commands that ``--list`` prints for it, from where its
run directory stands: a new or interrupted run trains (main resumes it) and
is then scored; a trained one is only scored; a finished one is skipped,
and so is a diverged one unless asked to retry it.

Each child is started in its own session, so that Ctrl-C at the terminal
reaches only the runner, which then asks every child once (SIGINT: finish
the step, save, exit) and waits; a second Ctrl-C asks again, which aborts
them. With ``parallel > 1`` each child gets ``cores // parallel`` threads
(TensorFlow's TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS, OpenMP's
OMP_NUM_THREADS) and writes its output to ``<out_dir>/logs/<cell>.log``.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import signal
import subprocess
import time
from typing import Callable, Optional, Sequence

from provlae_tf.experiments.grid import Cell
from provlae_tf.fileio import describe_os_error

# What main exits with when it was interrupted and saved.
INTERRUPTED_EXIT = 130
_POLL_SECONDS = 0.2


@dataclasses.dataclass(frozen=True)
class Job:
    """A cell to run: the argv of each of its remaining commands."""

    cell: Cell
    commands: tuple  # (argv, ...), run in order, each only if the last passed


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a job ended: ``done``, ``failed`` or ``interrupted``."""

    cell: Cell
    result: str
    message: str = ""
    seconds: float = 0.0


def plan_jobs(statuses: Sequence, python: str,
              retry_diverged: bool = False) -> list[Job]:
    """The jobs of cells that are not finished, from where each stands.

    Args:
        statuses: :class:`~provlae_tf.experiments.status.CellStatus` of
            each cell (none in conflict: those are refused before).
        python: the interpreter of the commands.
        retry_diverged: resume the cells whose training diverged too (else
            they are left out: resuming replays the same divergence).
    """
    jobs = []
    for s in statuses:
        state = s.state.value
        if state == "finished" or (state == "diverged"
                                   and not retry_diverged):
            continue
        commands = (s.cell.train_argv(python), s.cell.metrics_argv(python))
        if state == "scoring":  # trained: only --mode=3 is left
            commands = commands[1:]
        jobs.append(Job(s.cell, commands))
    return jobs


def available_cores() -> int:
    """The cores this process may run on (its affinity, else the count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def thread_environment(parallel: int, cores: Optional[int] = None) -> dict:
    """Environment variables giving a child its share of the cores.

    Empty for one job at a time (TensorFlow's own defaults use every core).
    """
    if parallel <= 1:
        return {}
    share = str(max(1, (cores or available_cores()) // parallel))
    return {"TF_NUM_INTRAOP_THREADS": share, "TF_NUM_INTEROP_THREADS": share,
            "OMP_NUM_THREADS": share}


def log_path(log_dir: str, cell: Cell) -> str:
    """Where a child's output goes when jobs run in parallel."""
    return os.path.join(log_dir, cell.name.replace("/", "_") + ".log")


class _Running:
    """One job in flight: its current child and the commands left."""

    def __init__(self, job: Job, cwd: str, env: dict, log_file: Optional[str]):
        self.job, self.cwd, self.env, self.log_file = job, cwd, env, log_file
        self.left = collections.deque(job.commands)
        self.start = time.monotonic()
        self.process: Optional[subprocess.Popen] = None
        self.asked = 0

    def next_command(self) -> None:
        argv = self.left.popleft()
        output = None
        if self.log_file:
            os.makedirs(os.path.dirname(self.log_file), exist_ok=True)
            output = open(self.log_file, "a")
            output.write("$ " + " ".join(argv) + "\n")
            output.flush()
        try:
            self.process = subprocess.Popen(
                argv, cwd=self.cwd, env=self.env, stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True)
        finally:
            if output:
                output.close()  # the child holds its own descriptor

    def ask_to_stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.asked += 1
            self.process.send_signal(signal.SIGINT)


def run_jobs(jobs: Sequence[Job], *, parallel: int = 1, cwd: str = ".",
             log_dir: Optional[str] = None,
             say: Callable[[str], None] = print) -> list[Outcome]:
    """Runs the jobs, ``parallel`` at once; returns one outcome per job.

    A failed command ends its job (the rest of the grid goes on). On Ctrl-C
    or SIGTERM no new job starts, the running children are asked to save
    and stop, and the unstarted jobs come back ``interrupted``.

    Args:
        jobs: what to run.
        parallel: jobs at once (>= 1).
        cwd: where the commands run.
        log_dir: with ``parallel > 1``, where each child's output goes
            (:func:`log_path`); else the children write to this terminal.
        say: progress lines.
    """
    env = {**os.environ, **thread_environment(parallel)}
    waiting = collections.deque(jobs)
    running: list[_Running] = []
    outcomes: dict[Cell, Outcome] = {}
    total, started = len(jobs), 0
    stopping = False
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        while running or (waiting and not stopping):
            try:
                while waiting and len(running) < parallel and not stopping:
                    job = waiting.popleft()
                    started += 1
                    log_file = (log_path(log_dir, job.cell)
                                if parallel > 1 and log_dir else None)
                    where = f" (output: {log_file})" if log_file else ""
                    say(f"[{started}/{total}] {job.cell.name}: starting"
                        f"{where}")
                    runner = _Running(job, cwd, env, log_file)
                    outcome = _advance(runner)
                    if outcome is None:
                        running.append(runner)
                    else:
                        outcomes[job.cell] = outcome
                for runner in list(running):
                    outcome = _advance(runner)
                    if outcome is not None:
                        running.remove(runner)
                        outcomes[runner.job.cell] = outcome
                        say(_describe(outcome))
                if running:
                    time.sleep(_POLL_SECONDS)
            except KeyboardInterrupt:
                if not stopping:
                    say("Stopping: asking the running cells to save and exit "
                        "(Ctrl-C again to abort them)...")
                stopping = True
                for runner in running:
                    runner.ask_to_stop()
    finally:
        signal.signal(signal.SIGTERM, previous)
    for job in waiting:
        outcomes[job.cell] = Outcome(job.cell, "interrupted",
                                     "not started")
    return [outcomes[job.cell] for job in jobs]


def _advance(runner: _Running) -> Optional[Outcome]:
    """Starts the runner's next command when the last one passed; the
    job's outcome once it is over, else None."""
    cell = runner.job.cell
    process = runner.process
    if process is not None:
        code = process.poll()
        if code is None:
            return None
        seconds = time.monotonic() - runner.start
        if code != 0:
            result = ("interrupted" if code == INTERRUPTED_EXIT
                      or runner.asked else "failed")
            where = f"; see {runner.log_file}" if runner.log_file else ""
            return Outcome(cell, result, f"{_command_name(process.args)} "
                           f"exited with {code}{where}", seconds)
        if not runner.left:
            return Outcome(cell, "done", "", seconds)
    if runner.asked:
        return Outcome(cell, "interrupted", "stopped before scoring")
    try:
        runner.next_command()
    except OSError as e:
        return Outcome(cell, "failed", f"could not start "
                       f"{runner.job.commands[0][0]} ({describe_os_error(e)})")
    return None


def _command_name(argv) -> str:
    return "scoring (--mode=3)" if "--mode=3" in argv else "training"


def _describe(outcome: Outcome) -> str:
    text = f"{outcome.cell.name}: {outcome.result}"
    if outcome.seconds:
        text += f" after {outcome.seconds:.0f} s"
    return text + (f" ({outcome.message})" if outcome.message else "")


def _raise_interrupt(signum, frame):
    del signum, frame
    raise KeyboardInterrupt
