"""Tuning: list, add and remove per-rule exceptions in the collector's tuning file.

The file (``<state>/tuning.yaml``) is the one `aurora scan --exclude` reads too. Every change is
written whole (temporary file, then rename), audited, and announced as
:class:`~aurora.collector.bus.RulesChanged`, on which the collector reloads rules and tuning.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from aurora.api.auth import Principal
from aurora.api.deps import ApiContext, Page, context, require
from aurora.api.export import ListFormat, csv_response, export_page
from aurora.api.routes.rules import engine
from aurora.collector.bus import RulesChanged
from aurora.detection.tuning import TUNING_FILE, Tuning, TuningError, parse_exception

router = APIRouter(prefix="/api/v1/tuning", tags=["tuning"])
_write_lock = threading.Lock()  # one read-modify-write of the file at a time


class ExceptionBody(BaseModel):
    rule: Annotated[str, Field(min_length=1, max_length=200)]
    fields: Annotated[dict[str, list[str]], Field(min_length=1, max_length=20)]
    hosts: Annotated[list[str] | None, Field(max_length=1000)] = None
    comment: Annotated[str, Field(max_length=2000)] = ""


def tuning_path(ctx: ApiContext) -> Path:
    return ctx.state_dir / TUNING_FILE


def _current(ctx: ApiContext) -> Tuning:
    try:
        return Tuning.load(tuning_path(ctx), missing_ok=True)
    except TuningError as exc:
        raise HTTPException(409, f"the tuning file cannot be used: {exc}") from None


def _write(ctx: ApiContext, tuning: Tuning) -> None:
    path = tuning_path(ctx)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tuning-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(tuning.dump())
    os.replace(tmp, path)


def _tuned_counts(ctx: ApiContext) -> dict[str, int]:
    counts = getattr(ctx.engine, "tuned_out", None) if ctx.engine is not None else None
    return dict(counts) if counts else {}


TUNING_COLUMNS = ("id", "rule", "fields", "hosts", "comment", "rule_tuned_out")


@router.get(
    "",
    summary="exceptions in force, and how many matches each rule had tuned out",
    response_model=None,
)
def list_tuning(
    request: Request,
    _p: Annotated[Principal, require("read")],
    page: Page,
    rule: Annotated[str | None, Query(max_length=200, description="one rule's exceptions")] = None,
    fmt: ListFormat = "json",
) -> dict[str, Any] | Response:
    ctx = context(request)
    counts = _tuned_counts(ctx)
    exceptions = [e for e in _current(ctx).exceptions if rule is None or e.rule == rule]
    result = export_page(page, fmt).page(
        exceptions, lambda e: {"id": e.id, **e.as_dict(), "rule_tuned_out": counts.get(e.rule, 0)}
    )
    if fmt == "csv":
        return csv_response("tuning", TUNING_COLUMNS, result["items"])
    result["path"] = str(tuning_path(ctx))
    result["tuned_out"] = counts
    return result


@router.post("", status_code=201, summary="add an exception; takes effect within seconds")
def add_exception(
    body: ExceptionBody, request: Request, p: Annotated[Principal, require("rules:write")]
) -> dict[str, Any]:
    ctx = context(request)
    raw = body.model_dump(exclude_none=True)
    try:
        exc = parse_exception(raw, "exception")
    except TuningError as err:
        raise HTTPException(422, str(err)) from None
    if exc.rule not in {r.id for r in engine(ctx).rules} and exc.rule not in ctx.pending_rules:
        raise HTTPException(404, f"no loaded rule has id {exc.rule!r}")
    with _write_lock:
        tuning = _current(ctx)
        if any(e.id == exc.id for e in tuning.exceptions):
            raise HTTPException(409, f"the same exception exists already ({exc.id})")
        _write(ctx, Tuning([*tuning.exceptions, exc], tuning.source))
    ctx.record(p, "tuning.add", target=exc.rule, detail={"id": exc.id, **exc.as_dict()})
    ctx.bus.publish(RulesChanged("", f"tuning: exception {exc.id} added to {exc.rule}"))
    return {"id": exc.id, **exc.as_dict()}


@router.delete("/{exception_id}", summary="remove an exception; takes effect within seconds")
def remove_exception(
    exception_id: str, request: Request, p: Annotated[Principal, require("rules:write")]
) -> dict[str, Any]:
    ctx = context(request)
    with _write_lock:
        tuning = _current(ctx)
        gone = [e for e in tuning.exceptions if e.id == exception_id]
        if not gone:
            raise HTTPException(404, f"no exception has id {exception_id!r}")
        _write(ctx, Tuning([e for e in tuning.exceptions if e.id != exception_id]))
    ctx.record(p, "tuning.remove", target=gone[0].rule, detail=gone[0].as_dict())
    ctx.bus.publish(RulesChanged("", f"tuning: exception {exception_id} removed"))
    return {"removed": exception_id}
