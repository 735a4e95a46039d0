"""Fixtures for the Linux sensor tests: the built BPF objects, the OCSF schema, and one running
LinuxSensor shared by the kernel tests (loading the objects takes about a second).

Every event the shared sensor hands to a test is validated against the OCSF 1.8.0 schema, not
only the ones the test looks at.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aurora.config.sensor import DEFAULT_WATCH_PATHS, DEFAULT_WATCH_READ_PATHS, SensorConfig
from aurora.ocsf.schema import OcsfSchema, load_schema

REPO = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO.parent / "shared" / "data" / "ocsf-schema-1.8.0"
OBJECTS = REPO / "src" / "aurora" / "sensor" / "linux" / "objects"
BTF = Path("/sys/kernel/btf/vmlinux")

Event = dict[str, Any]


@pytest.fixture(scope="session")
def schema() -> OcsfSchema:
    if not SCHEMA_DIR.is_dir():
        pytest.skip(f"{SCHEMA_DIR} is missing")
    return load_schema(str(SCHEMA_DIR))


@pytest.fixture(scope="session")
def bpf_objects() -> Path:
    """Build the objects (idempotent: a no-op when they are up to date)."""
    if not BTF.is_file():
        pytest.skip("no kernel BTF at /sys/kernel/btf/vmlinux")
    res = subprocess.run(["make", "-s", "-C", str(REPO / "bpf")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return OBJECTS


class LiveSensor:
    """A started LinuxSensor plus helpers to wait for the events a test caused."""

    def __init__(self, sensor: Any, schema: OcsfSchema, watched: Path) -> None:
        self.sensor = sensor
        self.schema = schema
        self.watched = watched
        self.invalid: list[tuple[Event, list[str]]] = []
        self.backlog: list[Event] = []  # seen by an earlier wait_for, not matched yet

    def drain(self, timeout_s: float = 0.3) -> list[Event]:
        """Everything that arrives within ``timeout_s``, plus the unmatched backlog."""
        out, self.backlog = self.backlog, []
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            out.extend(self._poll(50))
        return out

    def wait_for(
        self, match: Callable[[Event], bool], count: int = 1, timeout_s: float = 10.0
    ) -> list[Event]:
        """Poll until ``count`` events satisfy ``match``; fail with what was seen otherwise."""
        found = [ev for ev in self.backlog if match(ev)]
        self.backlog = [ev for ev in self.backlog if not match(ev)]
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and len(found) < count:
            for ev in self._poll(100):
                (found if match(ev) else self.backlog).append(ev)
        assert len(found) >= count, f"expected {count} matching events, got {len(found)}"
        return found

    def _poll(self, ms: int) -> list[Event]:
        events: list[Event] = self.sensor.poll(ms)
        for ev in events:
            problems = self.schema.validate(ev)
            if problems:
                self.invalid.append((ev, problems))
        return events


@pytest.fixture(scope="session")
def live(
    bpf_objects: Path, schema: OcsfSchema, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveSensor]:
    if os.geteuid() != 0:
        pytest.skip("the eBPF sensor needs root")
    from aurora.sensor.linux import LinuxSensor

    watched = tmp_path_factory.mktemp("watched")
    config = SensorConfig(
        watch_paths=[*DEFAULT_WATCH_PATHS, str(watched / "dir"), str(watched / "*" / ".ssh")],
        watch_read_paths=[
            *DEFAULT_WATCH_READ_PATHS,
            str(watched / "reads"),
            str(watched / "*" / ".ssh" / "id_*"),
        ],
    )
    sensor = LinuxSensor(config, objects_dir=bpf_objects)
    sensor.start()
    try:
        yield LiveSensor(sensor, schema, watched)
    finally:
        sensor.stop()


@pytest.fixture
def sensor(live: LiveSensor) -> Iterator[LiveSensor]:
    """The shared sensor, emptied of earlier events; fails the test on any invalid event."""
    live.drain(0.2)
    live.invalid.clear()
    yield live
    live.drain(0.1)
    bad = [f"{ev.get('class_uid')}: {problems}" for ev, problems in live.invalid]
    assert not bad, f"events failing OCSF 1.8.0 validation: {bad[:3]}"


def by_pid(pid: int, class_uid: int, activity_id: int) -> Callable[[Event], bool]:
    """Events of one class/activity whose actor is ``pid``."""

    def match(ev: Event) -> bool:
        return (
            ev["class_uid"] == class_uid
            and ev["activity_id"] == activity_id
            and ev.get("actor", {}).get("process", {}).get("pid") == pid
        )

    return match
