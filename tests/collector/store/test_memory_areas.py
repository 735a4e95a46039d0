"""The store area suites against the in-memory reference implementation (every area but events)."""

from __future__ import annotations

from typing import Any

import pytest

from aurora.collector.store.base import (
    AlertStore,
    CommandStore,
    HostStore,
    TokenStore,
    UpdateStore,
    UploadStore,
)
from aurora.collector.store.memory import (
    MemoryAlerts,
    MemoryCommands,
    MemoryHosts,
    MemoryTokens,
    MemoryUpdates,
    MemoryUploads,
)
from store.alerts_suite import AlertsSuite
from store.commands_suite import CommandsSuite
from store.hosts_suite import HostsSuite
from store.tokens_suite import TokensSuite
from store.updates_suite import UpdatesSuite
from store.uploads_suite import UploadsSuite


def memory(area: type[Any]) -> type[Any]:
    """A backend mixin whose ``store`` fixture is a fresh ``area``."""

    class MemoryBackend:
        @pytest.fixture
        def store(self) -> Any:
            return area()

    return MemoryBackend


class TestMemoryHosts(HostsSuite, memory(MemoryHosts)): ...


class TestMemoryTokens(TokensSuite, memory(MemoryTokens)): ...


class TestMemoryCommands(CommandsSuite, memory(MemoryCommands)): ...


class TestMemoryUploads(UploadsSuite, memory(MemoryUploads)): ...


class TestMemoryAlerts(AlertsSuite, memory(MemoryAlerts)): ...


class TestMemoryUpdates(UpdatesSuite, memory(MemoryUpdates)): ...


@pytest.mark.parametrize(
    ("area", "protocol"),
    [
        (MemoryHosts, HostStore),
        (MemoryTokens, TokenStore),
        (MemoryCommands, CommandStore),
        (MemoryUploads, UploadStore),
        (MemoryAlerts, AlertStore),
        (MemoryUpdates, UpdateStore),
    ],
)
def test_each_memory_area_meets_its_protocol(area: type[Any], protocol: type[Any]) -> None:
    assert isinstance(area(), protocol)
