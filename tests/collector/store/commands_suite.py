"""The commands area contract: the queue, its TTL, and final states that stay final."""

from __future__ import annotations

from aurora.collector.store import CommandRecord
from aurora.collector.store.base import CommandStore


class CommandsSuite:
    def test_commands_lifecycle_and_expiry(self, store: CommandStore) -> None:
        store.enqueue_command(CommandRecord("c1", "s1", "kill", {"pid": 5}, created_ms=1))
        store.enqueue_command(
            CommandRecord("c2", "s1", "isolate", {}, created_ms=2, expires_ms=100)
        )
        assert [c.command_id for c in store.pending_commands("s1", now_ms=50)] == ["c1", "c2"]
        assert [c.command_id for c in store.pending_commands("s1", now_ms=200)] == ["c1"]
        assert store.get_command("c2").state == "expired"  # type: ignore[union-attr]
        assert store.update_command("c1", now_ms=3, state="running", progress=0.5, stage="x")
        assert store.update_command("c1", now_ms=4, state="succeeded", result={"killed": [5]})
        # A late progress message does not reopen a finished command.
        assert store.update_command("c1", now_ms=5, state="running", progress=0.7)
        c1 = store.get_command("c1")
        assert c1 is not None and c1.state == "succeeded" and c1.result == {"killed": [5]}
        assert store.update_command("ghost", now_ms=1, state="failed") is False
        assert store.pending_commands("s1", now_ms=300) == []
        assert len(store.list_commands("s1")) == 2
