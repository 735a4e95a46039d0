"""Detection rules: list, enable/disable, upload a Sigma rule (validated by the engine's loader).

Disabled rule ids are kept in the account store so they survive restarts; uploaded rules are
written to ``<state>/rules/`` which the collector loads with its configured rule directories.
Both publish :class:`~aurora.collector.bus.RulesChanged`, on which the collector reloads its rules.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from aurora.api.auth import Principal, now_ms
from aurora.api.deps import ApiContext, Page, context, require
from aurora.api.views import rule_view
from aurora.collector.bus import RulesChanged
from aurora.detection.rules import load_rules

router = APIRouter(prefix="/api/v1/rules", tags=["rules"])
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class RuleUpload(BaseModel):
    yaml: Annotated[str, Field(min_length=1, description="one Sigma rule document (YAML)")]


class RuleToggle(BaseModel):
    enabled: bool


def engine(ctx: ApiContext) -> Any:
    """The collector's engine when it runs in this process, else one loaded for listing."""
    if ctx.engine is None:
        from aurora.detection import DetectionEngine  # loading rules is slow; only when asked
        from aurora.detection.rule_sets import rule_directories

        dirs = [d for d in rule_directories(ctx.config.detection, ctx.state_dir) if d.exists()]
        ctx.engine = DetectionEngine.load(dirs, config=ctx.config.detection)
    return ctx.engine


def _find(ctx: ApiContext, rule_id: str) -> Any:
    for rule in engine(ctx).rules:
        if rule.id == rule_id:
            return rule
    if rule_id in ctx.pending_rules:
        return ctx.pending_rules[rule_id]
    raise HTTPException(404, f"no loaded rule has id {rule_id!r}")


@router.get("", summary="loaded rules, and the ones that failed to compile")
def list_rules(
    request: Request,
    _p: Annotated[Principal, require("read")],
    page: Page,
    q: Annotated[str | None, Query(max_length=200, description="text in id, title or tags")] = None,
    level: Annotated[str | None, Query(max_length=20)] = None,
    enabled: bool | None = None,
) -> dict[str, Any]:
    ctx = context(request)
    eng = engine(ctx)
    disabled = ctx.accounts.disabled_rules()
    views = [rule_view(r, disabled) for r in eng.rules]
    loaded = {v["id"] for v in views}
    views += [
        {**rule_view(r, disabled), "pending_reload": True}
        for r in ctx.pending_rules.values()
        if r.id not in loaded
    ]
    if q:
        needle = q.lower()
        views = [
            v
            for v in views
            if needle in v["id"].lower()
            or needle in v["title"].lower()
            or any(needle in t.lower() for t in v["tags"])
        ]
    if level:
        views = [v for v in views if v["level"] == level.lower()]
    if enabled is not None:
        views = [v for v in views if v["enabled"] == enabled]
    out = page.page(views, lambda v: v)
    out["total"] = len(views)
    out["errors"] = [
        {"path": str(f.path or ""), "rule_id": f.rule_id, "reason": f.reason} for f in eng.errors
    ]
    return out


@router.get("/{rule_id}", summary="one rule")
def get_rule(
    rule_id: str,
    request: Request,
    _p: Annotated[Principal, require("read")],
) -> dict[str, Any]:
    ctx = context(request)
    return rule_view(_find(ctx, rule_id), ctx.accounts.disabled_rules())


@router.put("/{rule_id}/enabled", summary="enable or disable a rule")
def toggle_rule(
    rule_id: str,
    body: RuleToggle,
    request: Request,
    p: Annotated[Principal, require("rules:write")],
) -> dict[str, Any]:
    ctx = context(request)
    rule = _find(ctx, rule_id)
    ctx.accounts.set_rule_disabled(rule_id, not body.enabled, p.name, now_ms())
    rule.enabled = body.enabled
    ctx.record(p, "rule.enable" if body.enabled else "rule.disable", target=rule_id)
    ctx.bus.publish(RulesChanged("", f"rule {rule_id} {'enabled' if body.enabled else 'disabled'}"))
    return rule_view(rule, ctx.accounts.disabled_rules())


@router.post("", status_code=201, summary="upload one Sigma rule; 422 lists validation errors")
def upload_rule(
    body: RuleUpload,
    request: Request,
    p: Annotated[Principal, require("rules:write")],
) -> dict[str, Any]:
    ctx = context(request)
    if len(body.yaml.encode()) > ctx.config.api.max_rule_bytes:
        raise HTTPException(413, f"rule larger than {ctx.config.api.max_rule_bytes} bytes")
    result = load_rules([], dict(ctx.config.detection.placeholders), [(None, body.yaml)])
    errors = [f.reason for f in result.failures]
    if not errors and not result.rules and not result.correlations:
        errors = ["the document holds no Sigma rule"]
    if errors:
        ctx.record(p, "rule.upload", result="invalid", detail={"errors": errors[:5]})
        raise HTTPException(422, {"message": "the rule is not valid Sigma", "errors": errors})
    ids = [r.id for r in result.rules] + [str(c.id) for c in result.correlations]
    eng = engine(ctx)
    clash = sorted(set(ids) & {r.id for r in eng.rules})
    target_dir = ctx.state_dir / "rules"
    target_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = target_dir / f"{_SAFE_NAME.sub('_', ids[0])[:120]}.yml"
    if clash and not path.exists():
        raise HTTPException(409, f"a built-in or configured rule already has id {clash[0]!r}")
    path.write_text(body.yaml, encoding="utf-8")
    # Listed as pending until the collector, told on the bus, has reloaded its rules.
    for r in result.rules:
        ctx.pending_rules[r.id] = r
    ctx.record(p, "rule.upload", target=ids[0], detail={"path": str(path)})
    ctx.bus.publish(RulesChanged("", f"rule {ids[0]} uploaded"))
    return {"ids": ids, "path": str(path), "active": "once the collector has reloaded its rules"}
