"""Tuning from the console: exceptions added and removed over the API land in the tuning file,
are audited and announced; the collector's detection stage applies them on reload, counting
what they tune out, and keeps the previous exceptions when the file is broken."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.apienv import Env
from aurora.collector.bus import RulesChanged
from aurora.collector.detect import DetectionStage
from aurora.config.detection import DetectionConfig
from aurora.detection.tuning import TUNING_FILE, Tuning

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "data" / "linux_events" / "file_event_lnx_aurora_authorized_keys.json"


def golden() -> tuple[str, dict[str, Any]]:
    """A rule of Aurora's pack and an event that fires it."""
    data = json.loads(GOLDEN.read_text())
    stage = DetectionStage.from_config(DetectionConfig())
    rule_id = next(r.id for r in stage.engine.rules if r.path and r.path.stem == data["rule"])
    return rule_id, data["positive"][0]


def test_add_list_remove_is_audited_and_announced(env: Env) -> None:
    rule_id, event = golden()
    announced: list[str] = []
    env.app.state.aurora.bus.subscribe([RulesChanged], lambda m: announced.append(m.reason))
    admin = env.client("admin")
    host = event["device"]["hostname"]
    body = {
        "rule": rule_id,
        "fields": {"Image": ["/usr/bin/ansible"]},
        "hosts": [host],
        "comment": "config management writes keys",
    }
    created = admin.post("/api/v1/tuning", json=body)
    assert created.status_code == 201, created.text
    exc_id = created.json()["id"]
    listed = admin.get("/api/v1/tuning").json()
    assert [e["id"] for e in listed["items"]] == [exc_id]
    assert listed["items"][0]["fields"] == {"Image": ["/usr/bin/ansible"]}
    on_disk = Tuning.load(env.state_dir / TUNING_FILE)
    assert [e.id for e in on_disk.exceptions] == [exc_id]
    assert any(exc_id in reason for reason in announced)
    audit = admin.get("/api/v1/audit", params={"action": "tuning.add"}).json()["items"]
    assert audit and audit[0]["target"] == rule_id and audit[0]["actor"] == "admin"

    assert admin.post("/api/v1/tuning", json=body).status_code == 409  # the same again
    removed = admin.delete(f"/api/v1/tuning/{exc_id}")
    assert removed.status_code == 200
    assert admin.get("/api/v1/tuning").json()["items"] == []
    assert admin.delete(f"/api/v1/tuning/{exc_id}").status_code == 404
    audit = admin.get("/api/v1/audit", params={"action": "tuning.remove"}).json()["items"]
    assert audit and audit[0]["target"] == rule_id


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"rule": "no-such-rule", "fields": {"Image": ["x"]}}, 404, "no loaded rule"),
        ({"rule": "RULE", "fields": {"Image|regex": ["x"]}}, 422, "Image|regex"),
        ({"rule": "RULE", "fields": {"Image": []}}, 422, "needs 1 to"),
        ({"rule": "RULE", "fields": {}}, 422, ""),
    ],
)
def test_bad_exceptions_are_refused(env: Env, body: dict[str, Any], status: int, says: str) -> None:
    rule_id, _ = golden()
    body = {**body, "rule": rule_id if body["rule"] == "RULE" else body["rule"]}
    resp = env.client("admin").post("/api/v1/tuning", json=body)
    assert resp.status_code == status and says in resp.text
    assert not (env.state_dir / TUNING_FILE).exists()  # nothing written


def test_only_rule_writers_may_tune(env: Env) -> None:
    rule_id, _ = golden()
    body = {"rule": rule_id, "fields": {"Image": ["x"]}}
    assert env.client("analyst").post("/api/v1/tuning", json=body).status_code == 403
    assert env.client("viewer").get("/api/v1/tuning").status_code == 200


def test_stage_applies_tuning_on_reload_and_counts(tmp_path: Path) -> None:
    rule_id, event = golden()
    uploaded = tmp_path / "rules"
    uploaded.mkdir()
    stage = DetectionStage.from_config(DetectionConfig(), state_dir=tmp_path)
    image = event["actor"]["process"]["file"]["path"]

    def alerts(ev: dict[str, Any]) -> list[str]:
        found = stage.evaluate("s-1", [(ev, [rule_id])])
        stage.abandoned()  # nothing is committed; suppression must not hide the next match
        return [a.rule_uid for a in found]

    assert alerts(event) == [rule_id]
    (tmp_path / TUNING_FILE).write_text(
        f"exceptions:\n  - rule: {rule_id}\n    fields:\n      Image: ['{image}']\n"
    )
    assert alerts(event) == [rule_id]  # not before the reload
    assert stage.reload()
    assert alerts(event) == [] and stage.tuned_out[rule_id] == 1
    other = json.loads(json.dumps(event))
    other["actor"]["process"]["file"]["path"] = image + "-lookalike"
    assert alerts(other) == [rule_id]  # a look-alike image is still reported
    # a broken edit keeps the exceptions in force
    (tmp_path / TUNING_FILE).write_text("exceptions: [")
    assert stage.reload()
    assert alerts(event) == [] and stage.tuned_out[rule_id] == 2
    assert stage.live_engine().tuned_out[rule_id] == 2
