"""The shipped default tuning file: it parses, names only SigmaHQ rules that exist, merges with the
operator's file without duplicates, and a damaged copy is refused with a log line, not a crash."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from aurora.detection.default_tuning import SIGMAHQ_DEFAULT_TUNING, shipped_tuning, with_default
from aurora.detection.tuning import Tuning

SIGMA_LINUX = Path(__file__).resolve().parents[3] / "shared" / "data" / "sigma" / "rules" / "linux"


def test_the_shipped_file_parses_and_every_exception_is_commented() -> None:
    tuning = shipped_tuning()
    assert tuning.source == str(SIGMAHQ_DEFAULT_TUNING)
    assert len(tuning.exceptions) >= 3
    assert all(e.comment for e in tuning.exceptions)


@pytest.mark.shared_data
def test_every_exception_names_a_sigmahq_linux_rule() -> None:
    ids = {str(yaml.safe_load(p.read_text()).get("id")) for p in SIGMA_LINUX.rglob("*.yml")}
    assert shipped_tuning().rules() <= ids


def test_merge_adds_the_shipped_exceptions_once_and_off_means_only_the_operators() -> None:
    own = Tuning.parse("exceptions:\n  - rule: r1\n    fields: {Image: [/bin/x]}\n", "own")
    shipped = shipped_tuning()
    merged = with_default(own, True, shipped)
    assert len(merged.exceptions) == 1 + len(shipped.exceptions)
    assert with_default(merged, True, shipped).exceptions == merged.exceptions  # idempotent
    assert with_default(own, False, shipped) is own
    # An operator who copied a shipped exception into their file does not get it twice.
    copied = Tuning([*own.exceptions, shipped.exceptions[0]], "own")
    assert len(with_default(copied, True, shipped).exceptions) == len(merged.exceptions)


def test_a_damaged_shipped_file_is_logged_and_applies_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "sigmahq_default_tuning.yaml"
    broken.write_text("exceptions:\n  - rule: x\n")
    with caplog.at_level(logging.ERROR):
        assert not shipped_tuning(broken)
    assert "shipped default tuning is not applied" in caplog.text
    assert not shipped_tuning(tmp_path / "missing.yaml")
