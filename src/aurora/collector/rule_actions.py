"""Rule-driven response: a finding of a rule listed in ``[response] rule_actions`` queues an action.

Off by default: only rules named in configuration act. The responder subscribes to
:class:`~aurora.collector.bus.AlertRaised`, which the detection stage publishes for every match once
its evidence is committed, so no command is queued for evidence that was never stored, and the work
happens on the bus's delivery thread, not the ingest writer's. Each command goes through
:func:`aurora.collector.actions.request_action`, the same path as an analyst's request, so it is
validated and audited the same way, with ``rule:<rule id>`` as the actor.

Every match acts, not only the first alert of a suppression window (a second malicious process must
be killed too); identical commands (same host, action and parameters, e.g. one process that matched
twice) are queued once per ``window_s``. If a commit fails, nothing of its group is published; the
sensor resends that batch, and its matches are published once it is stored. A match delivered twice
(the bus delivers at least once) plans the same command, which this deduplication drops.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aurora.collector.actions import request_action
from aurora.collector.bus import AlertRaised, Bus, Message
from aurora.collector.store.base import Store
from aurora.errors import AuroraError

if TYPE_CHECKING:
    from aurora.collector.store.accounts import AuditLog
    from aurora.config.response import ResponseConfig

log = logging.getLogger("aurora.collector.rule_actions")

_MAX_RECENT = 4096


def target_process(event: dict[str, Any]) -> dict[str, Any]:
    """The process a rule's action is about: the new process of a launch, else the actor (who
    wrote the file, attached with ptrace, loaded the module), else the event's process."""
    proc = event.get("process")
    actor = event.get("actor")
    actor_proc = actor.get("process") if isinstance(actor, dict) else None
    launch = event.get("class_uid") == 1007 and event.get("activity_id") == 1
    for candidate in (proc, actor_proc) if launch else (actor_proc, proc):
        if isinstance(candidate, dict) and candidate.get("pid") is not None:
            return candidate
    return {}


def action_params(action: str, event: dict[str, Any]) -> dict[str, Any]:
    """Parameters of ``action`` taken from the evidence event (validated later, when requested)."""
    if action == "isolate":
        return {}
    proc = target_process(event)
    if action == "kill":
        params: dict[str, Any] = {"pid": proc.get("pid")}
        created = proc.get("created_time")
        if isinstance(created, int) and not isinstance(created, bool):
            # Epoch ms of the process start: the sensor refuses a pid that was recycled since.
            params["start_time"] = created
        return params
    file = proc.get("file")
    return {"path": file.get("path") if isinstance(file, dict) else None}


class RuleResponder:
    """Queues the configured action of each matching rule for the host it matched on."""

    def __init__(
        self,
        store: Store,
        audit: AuditLog,
        bus: Bus | None,
        actions: dict[str, str],
        ttl_s: int,
        window_s: float = 60.0,
    ) -> None:
        self.store = store
        self.audit = audit
        self.bus = bus
        self.actions = dict(actions)
        self.ttl_s = ttl_s
        self.window_s = window_s
        self._recent: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._owned: Any = None
        self.queued = 0

    @classmethod
    def open(
        cls,
        state_dir: Path,
        store: Store,
        bus: Bus | None,
        config: ResponseConfig,
        window_s: float,
        known_rules: set[str] | None = None,
    ) -> RuleResponder | None:
        """A responder writing to the audit log in ``state_dir``, or None when no rule acts."""
        if not config.rule_actions:
            return None
        for rule_id in sorted(set(config.rule_actions) - (known_rules or set(config.rule_actions))):
            # Not fatal: the rule may arrive with the next rule update.
            log.warning("response.rule_actions names rule %s, which is not loaded", rule_id)
        from aurora.collector.store.factory import accounts_beside

        accounts = accounts_beside(store, Path(state_dir))
        responder = cls(
            store, accounts, bus, dict(config.rule_actions), config.command_ttl_s, window_s
        )
        responder._owned = accounts
        log.info("rule-driven response enabled for %d rules", len(config.rule_actions))
        return responder

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def handle(self, message: Message) -> None:
        """Queue the configured action of a matched rule (a bus handler for AlertRaised)."""
        if not isinstance(message, AlertRaised):
            return
        action = self.actions.get(message.rule_uid)
        if action is not None:
            self.act(message.rule_uid, message.sensor_id, action, message.evidence)

    def act(self, rule_id: str, sensor_id: str, action: str, event: dict[str, Any]) -> None:
        """Queue and audit ``action`` for the process (or host) ``event`` is about."""
        params = action_params(action, event)
        now = time.monotonic()
        while self._recent and next(iter(self._recent.values())) < now - self.window_s:
            self._recent.popitem(last=False)
        key = (sensor_id, action, repr(sorted(params.items())))
        if key in self._recent:
            return
        self._recent[key] = now
        if len(self._recent) > _MAX_RECENT:
            self._recent.popitem(last=False)
        try:
            _, created = request_action(
                self.store,
                self.audit,
                actor=f"rule:{rule_id}",
                host=sensor_id,
                action=action,
                params=params,
                ttl_s=self.ttl_s,
                bus=self.bus,
            )
        except AuroraError as exc:
            # Already audited as refused (e.g. an event without a pid); nothing to send.
            log.warning("rule %s: %s on %s refused: %s", rule_id, action, sensor_id, exc)
            return
        if created:
            self.queued += 1
            log.info("rule %s queued %s on %s (%s)", rule_id, action, sensor_id, params)
        else:
            log.info("rule %s: %s already pending on %s", rule_id, action, sensor_id)
