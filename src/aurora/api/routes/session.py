"""Logging in and out, the caller's own session, and personal API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from aurora.api.auth import (
    SESSION_COOKIE,
    LoginThrottled,
    Principal,
    hash_secret,
    new_api_token,
    now_ms,
)
from aurora.api.deps import IdPath, Page, context, require

router = APIRouter(prefix="/api/v1", tags=["session"])


class LoginBody(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    password: Annotated[str, Field(min_length=1, max_length=1000)]


class TokenBody(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    ttl_days: Annotated[int, Field(ge=0, le=3650)] = 90


def _me(p: Principal) -> dict[str, Any]:
    out: dict[str, Any] = {"name": p.name, "role": p.role, "via": p.via}
    if p.session is not None:
        out["csrf_token"] = p.session.csrf_token
        out["expires_ms"] = p.session.expires_ms
    return out


@router.post("/login", summary="log in with a name and password; sets the session cookie")
def login(body: LoginBody, request: Request, response: Response) -> dict[str, Any]:
    ctx = context(request)
    client = request.client.host if request.client else "unknown"
    try:
        got = ctx.auth.login(body.name, body.password, client)
    except LoginThrottled as exc:
        ctx.record(body.name, "login", result="throttled", detail={"client": client})
        raise HTTPException(
            429, exc.message, headers={"Retry-After": str(exc.retry_after_s)}
        ) from None
    if got is None:
        ctx.record(body.name, "login", result="bad credentials", detail={"client": client})
        raise HTTPException(401, "wrong user name or password")
    token, session = got
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=(session.expires_ms - session.created_ms) // 1000,
        secure=True,
        httponly=True,
        samesite="strict",
        path="/",
    )
    user = ctx.accounts.get_user_by_id(session.user_id)
    assert user is not None
    ctx.record(user.name, "login", detail={"client": client})
    return _me(Principal(user, "session", session))


@router.post("/logout", summary="end the current browser session")
def logout(
    request: Request,
    p: Annotated[Principal, require("read")],
    response: Response,
) -> dict[str, Any]:
    ctx = context(request)
    if p.session is not None:
        ctx.auth.logout(p.session)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    ctx.record(p, "logout")
    return {"ok": True}


@router.get("/session", summary="who am I (and the CSRF token for this session)")
def session(p: Annotated[Principal, require("read")]) -> dict[str, Any]:
    return _me(p)


@router.get("/tokens", summary="my API tokens (never the secrets)")
def list_tokens(
    request: Request,
    page: Page,
    p: Annotated[Principal, require("read")],
) -> dict[str, Any]:
    tokens = context(request).accounts.list_api_tokens(p.user.user_id)
    return page.page(
        tokens,
        lambda t: {
            "token_id": t.token_id,
            "name": t.name,
            "created_ms": t.created_ms,
            "expires_ms": t.expires_ms,
            "last_used_ms": t.last_used_ms,
        },
    )


@router.post("/tokens", status_code=201, summary="create an API token for scripts (shown once)")
def create_token(
    body: TokenBody,
    request: Request,
    p: Annotated[Principal, require("read")],
) -> dict[str, Any]:
    ctx = context(request)
    token = new_api_token()
    now = now_ms()
    expires = now + body.ttl_days * 86_400_000 if body.ttl_days else 0
    rec = ctx.accounts.add_api_token(hash_secret(token), p.user.user_id, body.name, now, expires)
    ctx.record(p, "token.create", target=str(rec.token_id), detail={"name": body.name})
    return {"token_id": rec.token_id, "name": body.name, "token": token, "expires_ms": expires}


@router.delete("/tokens/{token_id}", summary="revoke one of my API tokens")
def revoke_token(
    token_id: IdPath,
    request: Request,
    p: Annotated[Principal, require("read")],
) -> dict[str, Any]:
    ctx = context(request)
    if not ctx.accounts.revoke_api_token(token_id, p.user.user_id):
        raise HTTPException(404, f"you have no API token {token_id}")
    ctx.record(p, "token.revoke", target=str(token_id))
    return {"ok": True}
