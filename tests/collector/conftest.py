"""Fixtures: an in-process collector on an ephemeral loopback port, and enrolled test sensors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from client import Identity, enroll

from aurora.collector.server import Collector
from aurora.collector.tokens import create_token
from aurora.config import AuroraConfig


def make_config(state_dir: Path, *, detection: bool = False, **collector: object) -> AuroraConfig:
    return AuroraConfig.model_validate(
        {
            "collector": {"state_dir": str(state_dir), "listen": "127.0.0.1:0"} | collector,
            "detection": {"enabled": detection},
        }
    )


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    c = Collector(make_config(tmp_path / "collector"))
    c.start()
    try:
        yield c
    finally:
        c.stop()


def addr(c: Collector) -> str:
    return f"localhost:{c.port}"


@pytest.fixture
def enrolled(collector: Collector) -> Callable[..., Identity]:
    """Enrol a new test sensor with a fresh single-use token."""

    def _enroll(hostname: str = "h1") -> Identity:
        assert collector.store is not None
        tok = create_token(collector.store, 3600, 1)
        assert collector.ca is not None
        return enroll(addr(collector), tok.token, collector.ca.cert_pem, hostname)

    return _enroll
