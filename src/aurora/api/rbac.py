"""Roles and what each may do: one table, checked by a dependency on every route.

Each route names one permission; a role holds a set of permissions. Keeping the table here (and
not scattered over the routes) lets the RBAC matrix test and docs/api.md read one source.
"""

from __future__ import annotations

from typing import Literal

Permission = Literal[
    "read",  # hosts, events, alerts, actions' status, rules, own session
    "alerts:write",  # status, assignment, comments
    "respond",  # isolate, unisolate, kill, quarantine, restore, triage
    "triage:download",
    "rules:write",  # enable/disable, upload
    "users:manage",
    "audit:read",
    "sensors:update",  # stage sensor update rollouts
    "plugins:manage",  # enable and remove sensor plugins
]

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "analyst": frozenset({"read", "alerts:write", "respond", "triage:download"}),
    "admin": frozenset(
        {
            "read",
            "alerts:write",
            "respond",
            "triage:download",
            "rules:write",
            "users:manage",
            "audit:read",
            "sensors:update",
            "plugins:manage",
        }
    ),
}


def allowed(role: str, permission: str) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
