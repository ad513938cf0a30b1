"""CPU seconds the test suite spends, per file and per test.

    python benchmarks/suite_cpu.py                  # the whole suite, every core
    python benchmarks/suite_cpu.py tests/test_trainer.py -n 0

Runs ``python -m pytest`` (the README's test command; extra arguments are
passed on) with this file loaded as a pytest plugin in every worker. Each
test's CPU seconds are those of its worker process plus those of the child
processes it started and waited for (a run of ``python -m provlae_tf.main``,
a multi-worker pair), set-up and teardown included, so a module fixture is
charged to the first test that uses it. CPU seconds, unlike wall time, do
not depend much on what else the machine runs, so they tell where the
suite's time goes. Prints the total, each file's share and the longest
tests; the exit status is pytest's.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

_LOG = "SUITE_CPU_LOG"


def _cpu_seconds() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (own.ru_utime + own.ru_stime,
            children.ru_utime + children.ru_stime)


# ------------------------------------------------------------ pytest plugin
if os.environ.get(_LOG):  # loaded by pytest in a worker (see main)
    import pytest

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        """Appends ``{"id", "cpu", "wall"}`` of the test to $SUITE_CPU_LOG."""
        del nextitem
        own, children = _cpu_seconds()
        start = time.perf_counter()
        yield
        own_after, children_after = _cpu_seconds()
        record = {"id": item.nodeid,
                  "cpu": own_after - own + children_after - children,
                  "wall": time.perf_counter() - start}
        with open(os.environ[_LOG], "a") as log:
            log.write(json.dumps(record) + "\n")


# ------------------------------------------------------------------ report
def report(records: list[dict], top: int) -> str:
    """The total, each file's CPU and wall seconds and the ``top`` longest
    tests."""
    per_file, wall = collections.Counter(), collections.Counter()
    for record in records:
        path = record["id"].split("::")[0]
        per_file[path] += record["cpu"]
        wall[path] += record["wall"]
    total = sum(per_file.values())
    lines = [f"{len(records)} tests, {total:.0f} CPU-s in tests "
             "(set-up and teardown included)", "",
             "CPU-s  share  wall s  file"]
    for path, seconds in per_file.most_common():
        lines.append(f"{seconds:6.1f} {seconds / max(total, 1e-9):6.1%} "
                     f"{wall[path]:7.1f}  {path}")
    lines += ["", f"the {top} longest tests (CPU-s, wall s):"]
    for record in sorted(records, key=lambda r: -r["cpu"])[:top]:
        lines.append(f"{record['cpu']:6.1f} {record['wall']:6.1f}  "
                     f"{record['id']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=20,
                        help="how many of the longest tests to list")
    args, pytest_args = parser.parse_known_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as folder:
        log = os.path.join(folder, "cpu.jsonl")
        env = {**os.environ, _LOG: log, "PYTHONPATH": os.pathsep.join(
            filter(None, [os.path.dirname(os.path.abspath(__file__)),
                          os.environ.get("PYTHONPATH")]))}
        start = time.perf_counter()
        code = subprocess.call(
            [sys.executable, "-m", "pytest", "-p", "suite_cpu", "-q",
             *pytest_args], cwd=repo, env=env)
        wall = time.perf_counter() - start
        records = []
        if os.path.exists(log):
            with open(log) as f:
                records = [json.loads(line) for line in f]
    print(f"\npytest exited with {code} after {wall:.0f} s wall")
    print(report(records, args.top))
    return code


if __name__ == "__main__":
    sys.exit(main())
