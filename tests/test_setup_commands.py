"""The README's test command is what CI runs (``.ci/run``).

The README starts with two commands; the second installs and runs the tests,
and ``.ci/run`` must run exactly that command on a clean checkout. Both are
read here and compared after removing what only changes the output (``-q``)
and shell line continuations.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEST_COMMAND_MARK = "# 2. Install, then run the tests:"


def readme_test_command(readme: str) -> str:
    """The line after the README's "# 2." comment."""
    lines = readme.splitlines()
    return lines[lines.index(TEST_COMMAND_MARK) + 1]


def ci_command(script: str) -> str:
    """The script's one command that creates the virtual environment, with
    its continuation lines joined."""
    joined = re.sub(r"\\\n\s*", "", script)
    found = [line for line in joined.splitlines()
             if line.startswith("python3 -m venv")]
    assert len(found) == 1, found
    return found[0]


def words(command: str) -> list[str]:
    """The command's words, without the quiet flags."""
    return [w for w in shlex.split(command) if w not in ("-q", "--quiet")]


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    readme_words = words(readme_test_command(readme))
    assert readme_words == words(ci_command(script))
    assert readme_words[-3:] == [".venv/bin/python", "-m", "pytest"]


def test_a_different_command_is_told_apart():
    readme = f"{TEST_COMMAND_MARK}\npython3 -m venv .venv && pytest\n"
    script = "set -e\npython3 -m venv .venv \\\n    && pytest -x\n"
    assert words(ci_command(script)) != words(readme_test_command(readme))
    same = "set -e\npython3 -m venv .venv \\\n    && pytest -q\n"
    assert words(ci_command(same)) == words(readme_test_command(readme))
