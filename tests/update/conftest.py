"""Fixtures for the update tests: one release key and real wheels built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from .packages import CRASH, HANG, build_wheel, later, new_key


@pytest.fixture(scope="session")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("release")


@pytest.fixture(scope="session")
def release_key(work: Path) -> Path:
    return new_key(work / "release.key")


@pytest.fixture(scope="session")
def good_wheel(work: Path) -> Path:
    return build_wheel(later(1), work)


@pytest.fixture(scope="session")
def crash_wheel(work: Path) -> Path:
    return build_wheel(later(2), work, break_agent=CRASH)


@pytest.fixture(scope="session")
def hang_wheel(work: Path) -> Path:
    return build_wheel(later(3), work, break_agent=HANG)
