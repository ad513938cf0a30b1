"""Locating the original code's fixtures under ../shared/fixtures."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"


def fixture_path(*parts: str) -> Path:
    """Path of a fixture of the original code under ../shared/fixtures.

    Users' clones have no ../shared: the test is skipped there. CI sets
    PROVLAE_REQUIRE_FIXTURES=1, which turns a missing fixture into a failure.
    """
    path = SHARED_FIXTURES.joinpath(*parts)
    if not path.exists():
        message = (f"needs {path} (a fixture of the original code, present in "
                   "the project's CI checkout only)")
        if os.environ.get("PROVLAE_REQUIRE_FIXTURES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path
