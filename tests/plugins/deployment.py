"""A real collector (detection on, mTLS on loopback) and a real sensor agent enrolled with it,
whose source is the plugin host beside an idle platform source: what plugin tests run against
when they need events to reach the store and the rules to fire."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.agent.helpers import AgentThread, CountingSource, sensor_config

from aurora.cli.main import main as aurora_main
from aurora.collector.server import Collector
from aurora.collector.store.base import EventQuery
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig
from aurora.plugins.attach import with_plugins
from aurora.sensor.agent import Agent
from aurora.sensor.enrollment import enroll

from .helpers import short_dir


class Deployment:
    def __init__(self, root: Path, collector: Collector, sensor_id: str) -> None:
        self.root = root
        self.collector = collector
        self.sensor_id = sensor_id
        self.collector_dir = collector.state_dir
        self.sensor_dir = root / "s"

    @property
    def store(self) -> Any:
        assert self.collector.store is not None
        return self.collector.store

    def aurora(self, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
        capsys.readouterr()
        code = aurora_main([*args, "--state-dir", str(self.collector_dir)])
        return code, capsys.readouterr().out

    def events(self, class_uid: int) -> list[dict[str, Any]]:
        found = self.store.search_events(
            EventQuery(sensor_ids=[self.sensor_id], class_uid=class_uid, limit=1000)
        )
        return [e.event for e in found]

    def auth_events(self) -> list[dict[str, Any]]:
        return self.events(3002)

    def alerts(self, rule_uid: str) -> list[Any]:
        return [a for a in self.store.list_alerts() if a.rule_uid == rule_uid]

    def capabilities(self) -> set[str]:
        host = self.store.get_host(self.sensor_id)
        return {c["name"] for c in host.capabilities if c.get("loaded")} if host else set()


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    with short_dir() as root:
        collector = Collector(
            AuroraConfig.model_validate(
                {
                    "collector": {"state_dir": str(root / "c"), "listen": "127.0.0.1:0"},
                    "detection": {"enabled": True},
                }
            )
        )
        collector.start()
        assert collector.store is not None
        token = create_token(collector.store, 3600, 1)
        ident = enroll(
            f"127.0.0.1:{collector.port}", token.token, collector.ca_fingerprint, root / "s"
        )
        config = sensor_config(root / "s")
        source = with_plugins(CountingSource(0), root / "s")
        agent = AgentThread(Agent(config, source)).start()
        try:
            yield Deployment(root, collector, ident.sensor_id)
        finally:
            agent.stop()
            collector.stop()
        assert agent.error is None, agent.error
