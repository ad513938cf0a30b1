"""Locating what the project's CI checkout holds beside the repository:
the original code's fixtures (../shared/fixtures) and the original code
itself (../shared/original)."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"
SHARED_ORIGINAL = REPO.parent / "shared" / "original"


def fixture_path(*parts: str) -> Path:
    """Path of a fixture of the original code under ../shared/fixtures."""
    return _required(SHARED_FIXTURES.joinpath(*parts),
                     "a fixture of the original code")


def original_code_path(*parts: str) -> Path:
    """Path of a file of the original pro-VLAE repository under
    ../shared/original."""
    return _required(SHARED_ORIGINAL.joinpath(*parts), "the original code")


def _required(path: Path, what: str) -> Path:
    """``path``, or the test is skipped: users' clones have no ../shared.
    CI sets PROVLAE_REQUIRE_FIXTURES=1, which turns a missing one into a
    failure."""
    if not path.exists():
        message = (f"needs {path} ({what}, present in the project's CI "
                   "checkout only)")
        if os.environ.get("PROVLAE_REQUIRE_FIXTURES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path
