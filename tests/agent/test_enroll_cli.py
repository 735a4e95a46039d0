"""`aurora enroll` as a real process against a real collector: the happy path and every refusal."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora.collector.server import Collector
from aurora.collector.tokens import create_token
from aurora.sensor.identity import load_identity

from .helpers import REPO, free_port, in_process_collector


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    with in_process_collector(tmp_path_factory.mktemp("enroll-collector")) as c:
        yield c


def token(c: Collector, ttl_s: int = 3600, uses: int = 1) -> str:
    assert c.store is not None
    return create_token(c.store, ttl_s, uses).token


def aurora(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    env.pop("AURORA_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "aurora", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def enroll_args(c: Collector, tok: str, fp: str, state: Path) -> list[str]:
    return [
        "enroll",
        "--collector",
        f"127.0.0.1:{c.port}",
        "--token",
        tok,
        "--ca-fingerprint",
        fp,
        "--state-dir",
        str(state),
        "--timeout",
        "10",
    ]


def aurora_inproc(
    capsys: pytest.CaptureFixture[str], *args: str
) -> subprocess.CompletedProcess[str]:
    """The same entry point in this process: the subprocess start-up cost is paid only where
    the separate process matters (files written, exit status)."""
    from aurora.cli.main import main

    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse errors
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out.out, out.err)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("aurora: ")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def test_enroll_happy_path_stores_private_identity(tmp_path: Path, collector: Collector) -> None:
    state = tmp_path / "sensor"
    # Fingerprints are accepted with colons and in upper case, as other tools print them.
    fp = ":".join(collector.ca_fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    proc = aurora(*enroll_args(collector, token(collector), fp, state), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    ident = load_identity(state)
    assert out["sensor_id"] == ident.sensor_id
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for name in ("sensor.key", "sensor.crt", "ca.crt", "identity.json"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name
    assert collector.store is not None
    host = collector.store.get_host(ident.sensor_id)
    assert host is not None and host.hostname


def test_wrong_fingerprint_refused_before_sending_token(
    tmp_path: Path, collector: Collector
) -> None:
    tok = token(collector)
    proc = aurora(*enroll_args(collector, tok, "ab" * 32, tmp_path / "s"))
    assert_one_line_error(proc, "fingerprint", "ab" * 32, collector.ca_fingerprint)
    assert not (tmp_path / "s" / "sensor.key").exists()
    # The token was never presented, so it still works.
    ok = aurora(*enroll_args(collector, tok, collector.ca_fingerprint, tmp_path / "s"))
    assert ok.returncode == 0, ok.stderr


def test_bad_token_refused(
    tmp_path: Path, collector: Collector, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = aurora_inproc(
        capsys,
        *enroll_args(collector, "not-a-real-token", collector.ca_fingerprint, tmp_path / "s"),
    )
    assert_one_line_error(proc, "refused the enrolment")
    assert not (tmp_path / "s" / "identity.json").exists()


def test_used_up_token_refused(
    tmp_path: Path, collector: Collector, capsys: pytest.CaptureFixture[str]
) -> None:
    tok = token(collector, uses=1)
    first = aurora_inproc(
        capsys, *enroll_args(collector, tok, collector.ca_fingerprint, tmp_path / "a")
    )
    assert first.returncode == 0, first.stderr
    second = aurora_inproc(
        capsys, *enroll_args(collector, tok, collector.ca_fingerprint, tmp_path / "b")
    )
    assert_one_line_error(second, "refused the enrolment")


@pytest.mark.parametrize(
    ("collector_arg", "fp", "needle"),
    [
        ("no-port", "ab" * 32, "HOST:PORT"),
        ("127.0.0.1:99999", "ab" * 32, "HOST:PORT"),
        ("127.0.0.1:9443", "xyz", "64 hex digits"),
    ],
)
def test_bad_arguments_are_usage_errors(
    tmp_path: Path, collector_arg: str, fp: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = aurora_inproc(
        capsys, "enroll", "--collector", collector_arg, "--token", "t", "--ca-fingerprint", fp,
        "--state-dir", str(tmp_path / "s"),
    )  # fmt: skip
    assert_one_line_error(proc, needle)
    assert proc.returncode == 2


def test_unreachable_collector_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    proc = aurora_inproc(
        capsys, "enroll", "--collector", f"127.0.0.1:{port}", "--token", "t",
        "--ca-fingerprint", "ab" * 32, "--state-dir", str(tmp_path / "s"), "--timeout", "3",
    )  # fmt: skip
    assert_one_line_error(proc, "cannot reach collector")


def test_sensor_without_identity_says_enrol_first(tmp_path: Path) -> None:
    proc = aurora("sensor", "--state-dir", str(tmp_path / "empty"))
    assert_one_line_error(proc, "not enrolled", "aurora enroll")


def test_unusable_state_dir_refused_before_spending_token(
    tmp_path: Path, collector: Collector, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    tok = token(collector)
    proc = aurora_inproc(
        capsys, *enroll_args(collector, tok, collector.ca_fingerprint, blocker / "state")
    )
    assert_one_line_error(proc, "cannot use state directory")
    ok = aurora_inproc(
        capsys, *enroll_args(collector, tok, collector.ca_fingerprint, tmp_path / "s")
    )
    assert ok.returncode == 0, ok.stderr


def test_sensor_bad_collector_override_is_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = aurora_inproc(
        capsys, "sensor", "--state-dir", str(tmp_path / "s"), "--collector", "nope"
    )
    assert_one_line_error(proc, "HOST:PORT")
    assert proc.returncode == 2
