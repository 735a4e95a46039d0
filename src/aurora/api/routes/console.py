"""The web console: server-rendered page shells (Jinja2, autoescaped) filled by static/app.js
and static/pages.js.

Each page is rendered with the caller's name, role and CSRF token; the data comes from the same
REST API scripts use, so the console can never do more than the API allows. Anonymous visitors
are sent to /login. Jinja2 is used (not string formatting) for its HTML autoescaping.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from aurora import __version__
from aurora.api.auth import Principal, now_ms
from aurora.api.dashboard import build_dashboard, chart, drops_over_time
from aurora.api.deps import IdPath, authenticate, context
from aurora.api.rbac import ROLE_PERMISSIONS, allowed
from aurora.api.routes.incidents import incident_detail, summary, window_ms
from aurora.api.routes.rules import engine
from aurora.api.views import SEVERITY_NAMES
from aurora.collector.incidents import list_incidents
from aurora.collector.rollouts import rollout_view
from aurora.detection.rule_sets import count_by_set, only_builtin, rule_sets

router = APIRouter(include_in_schema=False)
_env = Environment(
    loader=PackageLoader("aurora.api", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["utc"] = lambda ms: (
    dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if ms else ""
)
_env.filters["severity"] = lambda sid: SEVERITY_NAMES.get(sid, "unknown")
# The console's incident queue shows this many, highest score first.
INCIDENT_PAGE = 200

NAV = [
    ("dashboard", "/dashboard", "Dashboard", "read"),
    ("alerts", "/alerts", "Alerts", "read"),
    ("incidents", "/incidents", "Incidents", "read"),
    ("hosts", "/hosts", "Hosts", "read"),
    ("events", "/events", "Hunt", "read"),
    ("rules", "/rules", "Rules", "read"),
    ("updates", "/updates", "Updates", "read"),
    ("hunts", "/hunts", "Retro-hunt", "read"),
    ("users", "/users", "Users", "users:manage"),
    ("audit", "/audit", "Audit log", "audit:read"),
]


def _render(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = _env.get_template(name).render(version=__version__, **values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _page(
    request: Request,
    page: str,
    permission: str = "read",
    load: Callable[[], dict[str, Any]] | None = None,
    **values: Any,
) -> Response:
    """The page for an authorised caller; ``load`` supplies server-rendered data, and runs only
    once the caller is known to be allowed to see it."""
    principal: Principal | None = authenticate(request)
    if principal is None or principal.session is None:
        target = request.url.path
        return RedirectResponse(f"/login?next={target}", status_code=303)
    if not allowed(principal.role, permission):
        return _render(
            "denied.html",
            status=403,
            user=principal,
            nav=_nav(principal),
            # Not the page's own name: its script would look for controls this page lacks.
            page="denied",
            csrf=principal.session.csrf_token,
        )
    ctx = context(request)
    return _render(
        f"{page}.html",
        user=principal,
        nav=_nav(principal),
        page=page,
        csrf=principal.session.csrf_token,
        perms=sorted(ROLE_PERMISSIONS.get(principal.role, ())),
        only_builtin=ctx.config.detection.enabled
        and only_builtin(ctx.config.detection, ctx.state_dir),
        **(load() if load is not None else {}),
        **values,
    )


def _nav(p: Principal) -> list[tuple[str, str, str]]:
    return [(key, href, label) for key, href, label, perm in NAV if allowed(p.role, perm)]


@router.get("/")
def home() -> Response:
    return RedirectResponse("/alerts", status_code=303)


@router.get("/login")
def login_page() -> Response:
    return _render("login.html", page="login", user=None, nav=[])


@router.get("/dashboard")
def dashboard_page(request: Request) -> Response:
    def load() -> dict[str, Any]:
        ctx = context(request)
        dash = build_dashboard(ctx.store, now_ms(), window_ms(ctx))
        return {"dash": dash, "chart": chart(dash)}

    return _page(request, "dashboard", load=load)


@router.get("/alerts")
def alerts_page(request: Request) -> Response:
    return _page(request, "alerts")


@router.get("/alerts/{alert_id}")
def alert_page(alert_id: IdPath, request: Request) -> Response:
    return _page(request, "alert", alert_id=alert_id)


@router.get("/incidents")
def incidents_page(request: Request) -> Response:
    def load() -> dict[str, Any]:
        ctx = context(request)
        found = list_incidents(ctx.store, window_ms(ctx))
        found.sort(key=lambda i: (i.status == "open", i.score, i.last_seen_ms), reverse=True)
        return {"incidents": [summary(ctx, i) for i in found[:INCIDENT_PAGE]]}

    return _page(request, "incidents", load=load)


@router.get("/incidents/{incident_id}")
def incident_page(incident_id: IdPath, request: Request) -> Response:
    def load() -> dict[str, Any]:
        try:
            return {"incident": incident_detail(context(request), incident_id)}
        except HTTPException:
            return {"incident": None}

    return _page(request, "incident", load=load, incident_id=incident_id)


@router.get("/hosts")
def hosts_page(request: Request) -> Response:
    return _page(request, "hosts")


@router.get("/hosts/{host}")
def host_page(host: str, request: Request) -> Response:
    def load() -> dict[str, Any]:
        store = context(request).store
        ids = store.resolve_host(host)
        rows = drops_over_time(store, now_ms(), ids[0]) if len(ids) == 1 else []
        return {"drops": rows[0] if rows else None}

    return _page(request, "host", host=host, load=load)


@router.get("/events")
def events_page(request: Request) -> Response:
    return _page(request, "events")


@router.get("/rules")
def rules_page(request: Request) -> Response:
    def load() -> dict[str, Any]:
        ctx = context(request)
        sets = rule_sets(ctx.config.detection, ctx.state_dir)
        counts = count_by_set(sets, [r.path for r in engine(ctx).rules])
        return {"rule_sets": [(s, counts[s.name + ":" + str(s.path)]) for s in sets]}

    return _page(request, "rules", load=load)


@router.get("/rules/{rule_id}")
def rule_page(rule_id: str, request: Request) -> Response:
    return _page(request, "rule", rule_id=rule_id)


@router.get("/updates")
def updates_page(request: Request) -> Response:
    def load() -> dict[str, Any]:
        store = context(request).store
        return {"rollouts": [rollout_view(store, r) for r in store.list_rollouts(limit=20)]}

    return _page(request, "updates", load=load)


@router.get("/hunts")
def hunts_page(request: Request) -> Response:
    return _page(request, "hunts")


@router.get("/users")
def users_page(request: Request) -> Response:
    return _page(request, "users", "users:manage")


@router.get("/audit")
def audit_page(request: Request) -> Response:
    return _page(request, "audit", "audit:read")
