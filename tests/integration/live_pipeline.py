"""A live detection pipeline for integration tests: the real eBPF LinuxSensor streaming over mTLS
into a real collector (SQLite, detection on) with the test's own rules.

Test rules match a unique marker in a command line, so nothing else running on the host can hit
them.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.agent.helpers import AgentThread, wait_until

from aurora.collector.server import Collector
from aurora.collector.store.base import EventQuery
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from aurora.sensor.agent import Agent
from aurora.sensor.enrollment import enroll


def marker_rule(rule_id: str, marker: str) -> str:
    """A high-level rule that fires on any exec whose command line holds ``marker``."""
    return (
        f"title: Test marker {marker}\nid: {rule_id}\nstatus: test\n"
        "logsource: {product: linux, category: process_creation}\n"
        f"detection:\n  sel:\n    CommandLine|contains: '{marker}'\n  condition: sel\n"
        "level: high\n"
    )


def linux_sensor_cls() -> type:
    if os.geteuid() != 0:
        pytest.skip("the eBPF sensor needs root")
    from aurora.sensor.linux import LinuxSensor
    from aurora.sensor.linux.sensor import OBJECTS_DIR

    if not (Path(OBJECTS_DIR) / "process.bpf.o").exists():
        res = subprocess.run(["make", "-s", "-C", "bpf"], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
    return LinuxSensor


class LivePipeline:
    def __init__(self, tmp_path: Path, rules: dict[str, str], response: dict[str, Any]) -> None:
        rule_dir = tmp_path / "rules"
        rule_dir.mkdir()
        for name, text in rules.items():
            (rule_dir / f"{name}.yml").write_text(text)
        cfg: dict[str, Any] = {
            "collector": {"state_dir": str(tmp_path / "collector"), "listen": "127.0.0.1:0"},
            "detection": {"enabled": True, "rule_dirs": [str(rule_dir)]},
        }
        if response:
            cfg["response"] = response
        sensor_cls = linux_sensor_cls()
        self.collector = Collector(AuroraConfig.model_validate(cfg))
        self.collector.start()
        assert self.collector.store is not None
        self.store = self.collector.store
        tok = create_token(self.store, 3600, 1)
        endpoint = f"127.0.0.1:{self.collector.port}"
        ident = enroll(endpoint, tok.token, self.collector.ca_fingerprint, tmp_path / "s")
        self.sensor_id = ident.sensor_id
        config = AuroraConfig.model_validate(
            {
                "sensor": {
                    "state_dir": str(tmp_path / "s"),
                    "linux_families": ["process"],
                    "heartbeat_interval_s": 0.5,
                    "batch_max_delay_ms": 50,
                    "spool_fsync": False,
                }
            }
        )
        # The default executor factory: the real ResponseExecutor runs any response.
        self.agent = AgentThread(Agent(config, sensor_cls(config.sensor))).start()
        self._wait_streaming()

    def _wait_streaming(self) -> None:
        warm = f"aurora-warmup-{uuid.uuid4().hex}"

        def streaming() -> bool:
            subprocess.run(["/bin/echo", warm], stdout=subprocess.DEVNULL, check=True)
            events = self.store.search_events(
                EventQuery(sensor_ids=[self.sensor_id], class_uid=1007, limit=5000)
            )
            return any(warm in str(e.event.get("process", {}).get("cmd_line")) for e in events)

        wait_until(streaming, 30, "the agent streaming exec events", step=0.3)

    def alerts(self, rule_id: str) -> list[Any]:
        return [a for a in self.store.list_alerts() if a.rule_uid == rule_id]

    def stop(self) -> None:
        self.agent.stop()
        self.collector.stop()
        assert self.agent.error is None, self.agent.error
