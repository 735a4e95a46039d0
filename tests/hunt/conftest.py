"""Every hunt test gets its own rule cache directory, so no test reads another's entries or
the user's own cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from aurora.detection.rule_cache import ENV


@pytest.fixture(autouse=True)
def private_rule_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    directory = tmp_path_factory.mktemp("rule-cache")
    monkeypatch.setenv(ENV, str(directory))
    return directory
