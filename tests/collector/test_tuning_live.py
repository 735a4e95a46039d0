"""Tuning takes effect without a restart: on a real collector (gRPC/mTLS ingest, batch reader
process, SQLite) an exception added through the console's API stops the matches it covers within
the next batch, counts them, leaves look-alikes alerting, and removing it restores the alerts."""

from __future__ import annotations

from pathlib import Path

from test_rule_reload import RULE, RULE_ID, Live


def test_an_exception_added_and_removed_in_the_console_applies_live(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "evil.yml").write_text(RULE)
    env = Live(tmp_path, [str(rules)])
    try:
        [first] = env.send("/opt/app/reloaded-evil")
        assert env.matched_pids(1) == [first]

        body = {"rule": RULE_ID, "fields": {"Image": ["/opt/app/reloaded-evil"]}}
        added = env.browser.post("/api/v1/tuning", json=body)
        assert added.status_code == 201, added.text
        env.settle()  # RulesChanged heard: rules and tuning reloaded
        env.send("/opt/app/reloaded-evil")  # tuned out
        [lookalike] = env.send("/srv/other/reloaded-evil")  # same rule, not the exception
        assert env.matched_pids(2) == [first, lookalike]
        listed = env.browser.get("/api/v1/tuning").json()
        assert listed["tuned_out"] == {RULE_ID: 1}
        assert listed["items"][0]["rule_tuned_out"] == 1

        removed = env.browser.delete(f"/api/v1/tuning/{added.json()['id']}")
        assert removed.status_code == 200, removed.text
        env.settle()
        [again] = env.send("/opt/app/reloaded-evil")
        assert env.matched_pids(3) == [first, lookalike, again]
    finally:
        env.close()
