"""The suite's CI rule: under CI=true, a skipped kernel/root test fails the run."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).resolve().parents[1] / "conftest.py").read_text()
SAMPLE = """
import pytest

@pytest.mark.kernel
def test_needs_kernel():
    pytest.skip("no BTF here")

def test_plain_skip():
    pytest.skip("not relevant")
"""


@pytest.mark.parametrize(("ci", "failed", "skipped"), [("true", 1, 1), ("", 0, 2)])
def test_kernel_skip_fails_only_in_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str, failed: int, skipped: int
) -> None:
    monkeypatch.setenv("CI", ci)
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n    kernel: k\n    root: r\n    browser: b\n")
    pytester.makepyfile(SAMPLE)
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(failed=failed, skipped=skipped)
