"""The shipped default tuning for SigmaHQ, on telemetry the real sensor produced from real actions.

SigmaHQ's Linux rules (../shared/data/sigma) are loaded the way the collector loads them
(``DetectionStage.from_config`` with that checkout in ``rule_dirs``) and every event of an action's
own process tree is matched and passed through the stage's tuning, as a batch would be. Benign
look-alikes (base64 decoded into a file, a curl download) stay quiet with the default tuning on and
fire with it off (so the tuning is what quiets them); the attacks those rules are for (base64
decoded into a shell) still fire; an operator's own tuning file adds to the default.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.sensor.conftest import BTF, OBJECTS, REPO

from aurora.collector.detect import DetectionStage
from aurora.config.detection import DetectionConfig
from aurora.config.sensor import DEFAULT_WATCH_PATHS, SensorConfig

pytestmark = [pytest.mark.root, pytest.mark.kernel, pytest.mark.shared_data]

SIGMA_LINUX = REPO.parent / "shared" / "data" / "sigma" / "rules" / "linux"
SHELL_COMMANDS = "2aa1440c-9ae9-4d92-84a7-a9e5f5e31695"  # Suspicious Activity in Shell Commands
DECODE_BASE64 = "e2072cab-8c9a-459b-b63c-40ae79e27031"  # Decode Base64 Encoded Text
CURL_USAGE = "ea34fb97-e2c4-4afb-810f-785e4459b194"  # Curl Usage on Linux
Event = dict[str, Any]


def _pids(ev: Event) -> set[int]:
    out: set[int] = set()
    for proc in (ev.get("process"), (ev.get("actor") or {}).get("process")):
        if isinstance(proc, dict):
            for p in (proc, proc.get("parent_process") or {}, *(proc.get("ancestry") or ())):
                if isinstance(p, dict) and isinstance(p.get("pid"), int):
                    out.add(p["pid"])
    return out


class Actions:
    """The running sensor: ``tree`` runs a shell line and returns the events of its tree."""

    def __init__(self, sensor: Any, work: Path) -> None:
        self.sensor = sensor
        self.work = work

    def tree(self, line: str, settle_s: float = 1.0) -> list[Event]:
        self.sensor.poll(0)
        proc = subprocess.Popen(["/bin/sh", "-c", line], stdout=subprocess.DEVNULL)
        proc.wait(30)
        seen: list[Event] = []
        end = time.monotonic() + settle_s
        while time.monotonic() < end:
            seen.extend(self.sensor.poll(100))
        mine = [ev for ev in seen if proc.pid in _pids(ev)]
        assert any(ev.get("class_uid") == 1007 for ev in mine), f"no process event of {line!r}"
        return mine


@pytest.fixture(scope="module")
def actions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Actions]:
    if os.geteuid() != 0:
        pytest.skip("the eBPF sensor needs root")
    if not BTF.is_file():
        pytest.skip("no kernel BTF at /sys/kernel/btf/vmlinux")
    from aurora.sensor.linux import LinuxSensor

    work = Path(tempfile.mkdtemp(prefix="aurora-tuning-", dir="/var/cache"))
    sensor = LinuxSensor(SensorConfig(watch_paths=list(DEFAULT_WATCH_PATHS)), objects_dir=OBJECTS)
    sensor.start()
    try:
        yield Actions(sensor, work)
    finally:
        sensor.stop()
        shutil.rmtree(work, ignore_errors=True)


def _stage(state: Path, **detection: Any) -> DetectionStage:
    config = DetectionConfig(rule_dirs=[SIGMA_LINUX], sigma_auto_install=False, **detection)
    return DetectionStage.from_config(config, state_dir=state)


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DetectionStage]:
    """SigmaHQ's Linux rules with the default tuning (on, by default) and without it."""
    return {
        "default": _stage(tmp_path_factory.mktemp("on")),
        "off": _stage(tmp_path_factory.mktemp("off"), default_tuning=False),
    }


def fired(stage: DetectionStage, events: list[Event]) -> set[str]:
    """The rule ids the stage raises for these events: engine hits less the tuned-out ones."""
    out: set[str] = set()
    for ev in events:
        hits = [f.rule for f in stage.engine.match(ev)]
        out.update(str(r.id) for r in hits if not stage.tuning.excludes(str(r.id), ev))
    return out


def test_base64_decoded_into_a_file_is_quiet_only_with_the_default_tuning(
    actions: Actions, stages: dict[str, DetectionStage]
) -> None:
    events = actions.tree(f"echo aGk= | base64 -d > {actions.work}/hi")
    assert {SHELL_COMMANDS, DECODE_BASE64} <= fired(stages["off"], events)
    assert not {SHELL_COMMANDS, DECODE_BASE64} & fired(stages["default"], events)
    assert (actions.work / "hi").read_bytes() == b"hi"


def test_base64_decoded_into_a_shell_still_fires_with_the_default_tuning(
    actions: Actions, stages: dict[str, DetectionStage]
) -> None:
    events = actions.tree("echo ZWNobyBhdXJvcmE= | base64 -d | sh")
    assert {SHELL_COMMANDS, DECODE_BASE64} <= fired(stages["default"], events)


def test_other_keywords_of_the_rule_still_fire(
    actions: Actions, stages: dict[str, DetectionStage]
) -> None:
    """The stager shape the rule's keyword list names (a decode from /tmp, Metasploit's)."""
    blob = actions.work / "s.b64"
    blob.write_text("ZWNobyBhdXJvcmE=\n")
    tmp = Path(tempfile.mkdtemp(prefix="aurora-tuning-", dir="/tmp"))
    try:
        shutil.copy(blob, tmp / "s.b64")
        events = actions.tree(f"base64 -d {tmp}/s.b64 | sh")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert SHELL_COMMANDS in fired(stages["default"], events)


def test_curl_usage_is_tuned_out_and_curl_piped_into_a_shell_is_not_missed(
    actions: Actions, stages: dict[str, DetectionStage], tmp_path: Path
) -> None:
    download = f"curl -fsS --max-time 1 -o {actions.work}/page http://127.0.0.1:9/ ; true"
    events = actions.tree(download)
    assert CURL_USAGE in fired(stages["off"], events)
    assert CURL_USAGE not in fired(stages["default"], events)
    # The tuned-out match is counted by the stage, not dropped silently.
    stage = stages["default"]
    assert any(stage.tuning.excludes(CURL_USAGE, ev) for ev in events)


def test_an_operators_tuning_file_adds_to_the_default(actions: Actions, tmp_path: Path) -> None:
    """The operator's own exception (here: every base64 decode on this host) comes on top of the
    shipped ones; with the default off only the operator's file counts."""
    (tmp_path / "tuning.yaml").write_text(
        "exceptions:\n"
        f"  - rule: {DECODE_BASE64}\n"
        "    fields: {Image|endswith: [/base64]}\n"
        "    comment: this host decodes base64 all day\n"
    )
    both = _stage(tmp_path)
    events = actions.tree("echo ZWNobyBhdXJvcmE= | base64 -d | sh")
    raised = fired(both, events)
    assert DECODE_BASE64 not in raised  # the operator's exception
    assert SHELL_COMMANDS in raised  # the attack still fires its high rule
    quiet = actions.tree(f"echo aGk= | base64 -d > {actions.work}/hi2")
    assert SHELL_COMMANDS not in fired(both, quiet)  # the shipped exception is still there
    (tmp_path / "off").mkdir()
    shutil.copy(tmp_path / "tuning.yaml", tmp_path / "off" / "tuning.yaml")
    own_only = _stage(tmp_path / "off", default_tuning=False)
    assert len(own_only.tuning.exceptions) == 1
    assert SHELL_COMMANDS in fired(own_only, quiet)
