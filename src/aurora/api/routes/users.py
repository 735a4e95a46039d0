"""Users and roles (admin only). The last admin can be neither removed nor demoted."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from aurora.api.auth import Principal, WeakPassword, generate_password, hash_password, now_ms
from aurora.api.deps import ApiContext, Page, context, require
from aurora.api.views import user_view
from aurora.collector.store.accounts import UserExists

router = APIRouter(prefix="/api/v1/users", tags=["users"])
RoleName = Literal["admin", "analyst", "viewer"]
UserName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")]


class NewUser(BaseModel):
    name: UserName
    role: RoleName
    password: Annotated[str | None, Field(max_length=1000, description="omit to generate")] = None


class UserPatch(BaseModel):
    role: RoleName | None = None
    password: Annotated[str | None, Field(max_length=1000)] = None


def _admins(ctx: ApiContext) -> int:
    return sum(1 for u in ctx.accounts.list_users() if u.role == "admin")


@router.get("", summary="list users and their roles")
def list_users(
    request: Request,
    page: Page,
    _p: Annotated[Principal, require("users:manage")],
) -> dict[str, Any]:
    return page.page(context(request).accounts.list_users(), user_view)


@router.post("", status_code=201, summary="add a user; a password is generated when omitted")
def add_user(
    body: NewUser,
    request: Request,
    p: Annotated[Principal, require("users:manage")],
) -> dict[str, Any]:
    ctx = context(request)
    password = body.password or generate_password()
    try:
        user = ctx.accounts.add_user(body.name, body.role, hash_password(password), now_ms())
    except WeakPassword as exc:
        raise HTTPException(422, exc.message) from None
    except UserExists as exc:
        raise HTTPException(409, exc.message) from None
    ctx.record(p, "user.add", target=body.name, detail={"role": body.role})
    out = user_view(user)
    if body.password is None:
        out["password"] = password
    return out


@router.patch("/{name}", summary="change a user's role or password")
def patch_user(
    name: str,
    body: UserPatch,
    request: Request,
    p: Annotated[Principal, require("users:manage")],
) -> dict[str, Any]:
    ctx = context(request)
    user = ctx.accounts.get_user(name)
    if user is None:
        raise HTTPException(404, f"no user named {name!r}")
    if body.role and body.role != "admin" and user.role == "admin" and _admins(ctx) <= 1:
        raise HTTPException(409, "cannot demote the last admin")
    if body.password is not None:
        try:
            ctx.accounts.set_password(user.name, hash_password(body.password))
        except WeakPassword as exc:
            raise HTTPException(422, exc.message) from None
        ctx.record(p, "user.password", target=user.name)
    if body.role and body.role != user.role:
        ctx.accounts.set_role(user.name, body.role)
        ctx.record(p, "user.role", target=user.name, detail={"from": user.role, "to": body.role})
    fresh = ctx.accounts.get_user(user.name)
    assert fresh is not None
    return user_view(fresh)


@router.delete("/{name}", summary="remove a user (ends their sessions and tokens)")
def remove_user(
    name: str,
    request: Request,
    p: Annotated[Principal, require("users:manage")],
) -> dict[str, Any]:
    ctx = context(request)
    user = ctx.accounts.get_user(name)
    if user is None:
        raise HTTPException(404, f"no user named {name!r}")
    if user.role == "admin" and _admins(ctx) <= 1:
        raise HTTPException(409, "cannot remove the last admin")
    ctx.accounts.remove_user(user.name)
    ctx.record(p, "user.remove", target=user.name)
    return {"ok": True}
