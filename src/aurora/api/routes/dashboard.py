"""The dashboard's figures as JSON (the console's /dashboard page renders the same ones)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request

from aurora.api.auth import Principal, now_ms
from aurora.api.dashboard import build_dashboard
from aurora.api.deps import context, require
from aurora.api.routes.incidents import window_ms

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])


@router.get("", summary="alerts of the last 24 h, open alerts, fleet state, top rules, ATT&CK")
def get_dashboard(request: Request, _p: Annotated[Principal, require("read")]) -> dict[str, Any]:
    ctx = context(request)
    return build_dashboard(ctx.store, now_ms(), window_ms(ctx))
