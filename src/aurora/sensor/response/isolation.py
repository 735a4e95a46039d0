"""Host isolation, platform-neutral part: the plan, its persisted state, apply-check-rollback.

The platform backends (``isolation_linux`` with nftables, ``isolation_windows`` for WFP) only know
how to install and remove a plan. This module decides *what* to allow, checks that the collector
is still reachable once the plan is in place (rolling back if not, as Velociraptor's quarantine
does), and persists the state so the sensor reapplies it after a restart or a reboot.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from aurora.atomicfile import write_atomic
from aurora.sensor.response.errors import CollectorUnreachable, IsolationError, NoCollector

log = logging.getLogger(__name__)

STATE_FILE = "isolation.json"


@dataclass(frozen=True)
class IsolationPlan:
    """Everything an isolated host may still talk to. Addresses are literal IPs, never names."""

    collector_addrs: tuple[str, ...]
    collector_port: int
    allow: tuple[str, ...] = ()
    allow_dns: bool = True
    allow_dhcp: bool = True
    # Ports of the other collector endpoints (a cluster's front-ends), for fail-over while
    # isolated. Every collector address is allowed on every collector port.
    collector_ports: tuple[int, ...] = ()

    @property
    def ports(self) -> tuple[int, ...]:
        """Every collector port, the primary first."""
        return tuple(dict.fromkeys((self.collector_port, *self.collector_ports)))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IsolationPlan:
        return cls(
            collector_addrs=tuple(str(a) for a in data["collector_addrs"]),
            collector_port=int(data["collector_port"]),
            allow=tuple(str(a) for a in data.get("allow", ())),
            allow_dns=bool(data.get("allow_dns", True)),
            allow_dhcp=bool(data.get("allow_dhcp", True)),
            # Absent from plans saved before fail-over.
            collector_ports=tuple(int(p) for p in data.get("collector_ports", ())),
        )


class IsolationBackend(Protocol):
    """One platform's way of installing a plan. ``apply`` replaces any previous plan atomically."""

    def apply(self, plan: IsolationPlan) -> None: ...

    def remove(self) -> None: ...

    def is_applied(self) -> bool: ...


def resolve_collector(host: str, port: int) -> tuple[str, ...]:
    """Every address of the collector: the firewall needs literal IPs, resolved before isolating."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise CollectorUnreachable(f"cannot resolve collector {host!r}: {exc}") from None
    addrs = {str(ipaddress.ip_address(str(info[4][0]).split("%")[0])) for info in infos}
    return tuple(sorted(addrs))


def collector_reachable(
    addrs: tuple[str, ...], ports: tuple[int, ...], timeout: float
) -> str | None:
    """Open a TCP connection to any collector address and port; the error text if none answers."""
    errors = []
    for port in ports:
        for addr in addrs:
            try:
                with socket.create_connection((addr, port), timeout=timeout):
                    return None
            except OSError as exc:
                errors.append(f"{addr}:{port}: {exc.strerror or exc}")
    return "; ".join(errors) or "no collector address"


class Isolation:
    """Isolate and unisolate through ``backend``; the state file is the source of truth."""

    def __init__(
        self,
        state_dir: Path,
        backend: IsolationBackend,
        collectors: tuple[tuple[str, int], ...],
        allow: tuple[str, ...],
        allow_dns: bool,
        allow_dhcp: bool,
        check_timeout_s: float,
    ) -> None:
        self._state_path = state_dir / STATE_FILE
        self._backend = backend
        self._collectors = collectors  # every endpoint the sensor may stream to, primary first
        self._allow = allow
        self._allow_dns = allow_dns
        self._allow_dhcp = allow_dhcp
        self._timeout = check_timeout_s

    def plan(self, extra_allow: tuple[str, ...] = ()) -> IsolationPlan:
        """The configured plan, plus networks this one command allows."""
        if not self._collectors:
            raise NoCollector("cannot isolate: this sensor has no collector address to keep open")
        addrs: set[str] = set()
        for host, port in self._collectors:
            addrs.update(resolve_collector(host, port))
        ports = tuple(dict.fromkeys(port for _, port in self._collectors))
        return IsolationPlan(
            collector_addrs=tuple(sorted(addrs)),
            collector_port=ports[0],
            allow=tuple(dict.fromkeys(self._allow + extra_allow)),
            allow_dns=self._allow_dns,
            allow_dhcp=self._allow_dhcp,
            collector_ports=ports[1:],
        )

    def isolate(self, extra_allow: tuple[str, ...] = ()) -> dict[str, Any]:
        """Apply the plan, prove the collector still answers, else roll back. Idempotent."""
        plan = self.plan(extra_allow)
        self._backend.apply(plan)
        failure = collector_reachable(plan.collector_addrs, plan.ports, self._timeout)
        if failure is not None:
            # Back to the previous state: if the host was isolated before, keep the old plan.
            previous = self._load()
            if previous is not None:
                self._backend.apply(previous)
            else:
                self._backend.remove()
            raise CollectorUnreachable(
                f"collector unreachable once isolated ({failure}); isolation rolled back"
            )
        self._save(plan)
        return {"state": "isolated", "plan": plan.to_json()}

    def unisolate(self) -> dict[str, Any]:
        try:
            was = self._load() is not None or self._backend.is_applied()
        except IsolationError:
            was = True  # an unreadable state must never keep the host locked out
        self._backend.remove()
        self._save(None)
        return {"state": "not_isolated", "was_isolated": was}

    def reapply(self) -> str:
        """At sensor start: reinstall a persisted plan (no rollback: the collector may be down)."""
        plan = self._load()
        if plan is None:
            # A crash between apply and save can leave a table the state does not know about.
            if self._backend.is_applied():
                self._backend.remove()
            return "not_isolated"
        if self._collectors:
            with contextlib.suppress(CollectorUnreachable):
                # Keep what the analyst allowed; add a collector address that changed since.
                current = self.plan(plan.allow)
                addrs = tuple(sorted(set(plan.collector_addrs) | set(current.collector_addrs)))
                plan = IsolationPlan(
                    addrs,
                    current.collector_port,
                    current.allow,
                    current.allow_dns,
                    current.allow_dhcp,
                    current.collector_ports,
                )
        self._backend.apply(plan)
        return "isolated"

    def state(self) -> str:
        """For heartbeats: isolated, not_isolated, or isolation_lost when the rules vanished."""
        persisted = self._load() is not None
        try:
            applied = self._backend.is_applied()
        except Exception as exc:  # a heartbeat must never fail because of this
            log.warning("cannot read isolation state: %s", exc)
            return "isolated_unverified" if persisted else "not_isolated"
        if persisted:
            return "isolated" if applied else "isolation_lost"
        return "not_isolated"

    def _load(self) -> IsolationPlan | None:
        try:
            data = json.loads(self._state_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise IsolationError(
                f"isolation state {self._state_path} is unreadable ({exc}); delete it to reset"
            ) from None
        if not data.get("isolated"):
            return None
        return IsolationPlan.from_json(data["plan"])

    def _save(self, plan: IsolationPlan | None) -> None:
        data = {"isolated": plan is not None, "plan": plan.to_json() if plan else None}
        write_atomic(self._state_path, json.dumps(data).encode())
