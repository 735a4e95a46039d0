"""The executor's contract with the transport: typed results, never exceptions; config checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aurora.config import load_config
from aurora.config.response import ResponseConfig
from aurora.errors import ConfigError
from aurora.sensor.response import ACTIONS, ActionResult, ResponseExecutor
from aurora.sensor.response.isolation import IsolationPlan
from aurora.sensor.response.isolation_windows import WfpIsolation


def test_unknown_action_and_bad_params_are_results(tmp_path: Path) -> None:
    ex = ResponseExecutor(tmp_path, ResponseConfig(), None)
    res = ex.execute("reboot", {})
    assert res == ActionResult(False, "unknown_action", res.message, {}, None)
    assert "reboot" in res.message and all(a in res.message for a in ACTIONS)
    bad: Any = ["not", "a", "dict"]
    assert ex.execute("kill", bad).error_code == "bad_params"


def test_state_directory_is_private(tmp_path: Path) -> None:
    ResponseExecutor(tmp_path / "s", ResponseConfig(), None)
    assert (tmp_path / "s" / "response").stat().st_mode & 0o777 == 0o700


def test_result_is_frozen() -> None:
    res = ActionResult.success("done", {"a": 1})
    with pytest.raises(AttributeError):
        res.ok = False  # type: ignore[misc]


def test_windows_backend_is_a_typed_refusal(tmp_path: Path) -> None:
    ex = ResponseExecutor(tmp_path, ResponseConfig(), ("127.0.0.1", 9), backend=WfpIsolation())
    res = ex.execute("isolate", {})
    assert res.error_code == "unsupported_platform" and "WFP" in res.message
    assert ex.isolation_state() == "not_isolated"
    assert ex.execute("unisolate", {}).ok, "unisolating a host that never was is a no-op"
    for allow in (["10.0.0.0/33"], ["host.example"], [5], "10.0.0.1"):
        bad = ex.execute("isolate", {"allow": allow})
        assert bad.error_code == "bad_params", allow
    with pytest.raises(Exception, match="WFP"):
        WfpIsolation().apply(IsolationPlan(("127.0.0.1",), 9))


def test_unresolvable_collector_is_reported(tmp_path: Path) -> None:
    ex = ResponseExecutor(
        # A 64-character label fails in the resolver library, without sending a DNS query.
        tmp_path,
        ResponseConfig(),
        ("x" * 64 + ".example", 9443),
        backend=WfpIsolation(),
    )
    res = ex.execute("isolate", {})
    assert res.error_code == "collector_unreachable" and "cannot resolve" in res.message


@pytest.mark.parametrize(
    ("var", "value", "why"),
    [
        ("ISOLATION_ALLOW", '["10.0.0.0/8", "example.com"]', "not an IP address"),
        ("QUARANTINE_REFUSE", '["relative/dir"]', "not an absolute path"),
        ("TRIAGE_COMPRESSION", "xz", "zstd"),
        ("TRIAGE_MAX_BYTES", "10", "greater than or equal"),
        ("ISOLATION_CHECK_TIMEOUT_S", "0", "greater than"),
        ("NFT_PATH", '""', "at least 1"),
    ],
)
def test_bad_config_names_the_key(var: str, value: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as info:
        load_config(None, {f"AURORA__RESPONSE__{var}": value})
    assert info.value.key == f"response.{var.lower()}"
    assert "\n" not in str(info.value)


def test_config_defaults_load() -> None:
    cfg = load_config(None, {"AURORA__RESPONSE__ISOLATION_ALLOW": '["10.1.2.3", "fd00::/8"]'})
    assert cfg.response.isolation_allow == ["10.1.2.3", "fd00::/8"]
    assert cfg.response.nft_path == "nft" and cfg.response.triage_compression == "zstd"


def test_corrupt_isolation_state_never_locks_the_host_out(tmp_path: Path) -> None:
    ex = ResponseExecutor(tmp_path, ResponseConfig(), ("127.0.0.1", 9), backend=WfpIsolation())
    (tmp_path / "response" / "isolation.json").write_text("{not json")
    assert ex.isolation_state() == "unknown"
    start = ex.reapply_persisted_state()
    assert start.error_code == "isolation_failed" and "delete it" in start.message
    assert ex.execute("unisolate", {}).ok
    assert ex.isolation_state() == "not_isolated"
