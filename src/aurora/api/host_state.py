"""Why a host's health is what it is, and which isolation action applies to it now: derived from
the host record so the console, the CLI and scripts read the same explanation."""

from __future__ import annotations

from typing import Any

from aurora.collector.store.base import HostRecord

# A spool this full means the collector is not keeping up or the link is down; events will be
# evicted soon after (the sensor drops the oldest when the spool reaches its cap).
SPOOL_WARN_FRACTION = 0.8

# States in which the host is, or is about to be, cut off, so only Unisolate applies: the
# heartbeat's "isolated", and "isolating" while an isolate command is pending. "failed" (the
# sensor's rules vanished) is not among them: Isolate applies again there.
_ISOLATED_STATES = frozenset({"isolated", "isolating"})


# The guard's hook-health report rides with the capabilities under this name (see
# aurora.collector.stream_service.hook_health_entry); it is shown on its own, not as a capability.
HOOK_HEALTH = "hook_health"


def hook_health(h: HostRecord) -> dict[str, Any] | None:
    """The sensor's last hook-health report: per hook and per canary family its state, detail
    and since when; when it was checked and when everything was last found ok."""
    for cap in h.capabilities:
        if isinstance(cap, dict) and cap.get("name") == HOOK_HEALTH:
            return {k: v for k, v in cap.items() if k not in ("name", "loaded", "reason")}
    return None


def hook_reasons(h: HostRecord) -> list[str]:
    """One line per hook or family the guard found not ok."""
    report = hook_health(h)
    if report is None:
        return []
    rows = [*report.get("hooks", []), *report.get("families", [])]
    return [
        f"{r.get('name')} {r.get('state')}" + (f": {r['detail']}" if r.get("detail") else "")
        for r in rows
        if isinstance(r, dict) and r.get("state") != "ok"
    ]


def failed_capabilities(h: HostRecord) -> list[dict[str, str]]:
    """The capabilities the sensor could not load, each with its name and the sensor's reason."""
    failed = []
    for cap in h.capabilities:
        if not isinstance(cap, dict) or cap.get("loaded", True) or cap.get("name") == HOOK_HEALTH:
            continue
        failed.append({"name": str(cap.get("name", "")), "reason": str(cap.get("reason", ""))})
    return failed


def health_reasons(h: HostRecord) -> list[str]:
    """One line per thing that makes this host less than healthy (empty when nothing does)."""
    reasons = [
        f"{c['name']} not loaded: {c['reason'] or 'no reason given'}"
        for c in failed_capabilities(h)
    ]
    reasons += hook_reasons(h)
    if h.revoked:
        reasons.append("certificate revoked: the sensor may not connect")
    elif not h.connected:
        reasons.append("not connected to the collector")
    if h.spool_max_bytes > 0 and h.spool_bytes >= SPOOL_WARN_FRACTION * h.spool_max_bytes:
        percent = round(100 * h.spool_bytes / h.spool_max_bytes)
        reasons.append(f"spool {percent}% full ({h.spool_bytes} of {h.spool_max_bytes} bytes)")
    drops = {
        "kernel ring buffer": h.drops_kernel,
        "spool evicted": h.drops_spool_evicted,
        "spool corrupt": h.drops_spool_corrupt,
    }
    for where, count in drops.items():
        if count > 0:
            reasons.append(f"{count} events dropped ({where})")
    # Plugin losses arrive per plugin in the heartbeat counters (docs/plugins.md).
    for key, count in sorted(h.counters.items()):
        if key.startswith("plugin_lost.") and count > 0:
            reasons.append(f"{count} events lost by plugin {key.removeprefix('plugin_lost.')}")
    return reasons


def isolation_state(h: HostRecord, isolate_pending: bool) -> str:
    """The reported state, or ``isolating`` while an isolate command is on its way."""
    if isolate_pending and h.isolation not in _ISOLATED_STATES:
        return "isolating"
    return h.isolation


def is_isolated(h: HostRecord) -> bool:
    """True when the sensor last reported the host isolated."""
    return h.isolation == "isolated"


def isolation_actions(h: HostRecord, isolate_pending: bool = False) -> list[str]:
    """The one isolation action that applies: none for a revoked host (it cannot receive it),
    Unisolate when isolated or isolating, Isolate otherwise."""
    if h.revoked:
        return []
    if isolation_state(h, isolate_pending) in _ISOLATED_STATES:
        return ["unisolate"]
    return ["isolate"]
