"""A response action's ``Command`` message, built from and read back into its parameters.

Both directions follow the table in :mod:`aurora.wire.actions`: the collector builds the message
from a stored command, the sensor turns a received one back into its executor's parameters.
"""

from __future__ import annotations

from typing import Any

from aurora.errors import UsageError
from aurora.v1 import stream_pb2
from aurora.wire.actions import REGISTRY, Param, spec_of


def _set(body: Any, param: Param, value: Any) -> None:
    field = param.wire_name
    if param.kind == "strs":
        getattr(body, field).extend(str(item) for item in value)
    elif param.kind == "int":
        setattr(body, field, int(value))
    elif param.kind == "bool":
        setattr(body, field, bool(value))
    elif param.kind == "hex":
        setattr(body, field, bytes.fromhex(str(value)))
    else:
        setattr(body, field, str(value))


def to_command(
    action: str,
    params: dict[str, Any],
    *,
    command_id: str = "",
    expires_ms: int = 0,
    requested_by: str = "",
) -> stream_pb2.Command:
    """The message for ``action``. Unknown params are ignored, missing optional ones default;
    a missing required one is a KeyError, a value of the wrong shape a TypeError or ValueError."""
    spec = spec_of(action)
    msg = stream_pb2.Command(
        command_id=command_id, expires_at_unix_ms=expires_ms, requested_by=requested_by
    )
    body = getattr(msg, action)
    body.SetInParent()  # an action without parameters is still this action
    for param in spec.params:
        value = params.get(param.name)
        if value is None:
            if param.required:
                raise KeyError(param.name)
            continue
        _set(body, param, value)
    return msg


def from_command(cmd: stream_pb2.Command) -> tuple[str | None, dict[str, Any]]:
    """The action and its parameters (as stored) in ``cmd``; None for an empty or unknown one."""
    action = cmd.WhichOneof("action")
    spec = REGISTRY.get(action or "")
    if action is None or spec is None:
        return None, {}
    body = getattr(cmd, action)
    params: dict[str, Any] = {}
    for param in spec.params:
        value = getattr(body, param.wire_name)
        if param.kind == "strs":
            value = list(value)
        elif param.kind == "hex":
            value = bytes(value).hex()
        if param.omit_if_empty and not value:
            continue
        params[param.name] = value
    return action, params


def for_executor(action: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` under the names the sensor's executor reads."""
    names = {p.name: p.host_key or p.name for p in spec_of(action).params}
    return {names.get(key, key): value for key, value in params.items()}


def check_sendable(action: str, params: dict[str, Any]) -> None:
    """Refuse a command that could never be sent, at the time it is queued."""
    spec = spec_of(action)
    for param in spec.params:
        if param.required and param.name not in params:
            raise UsageError(f"action {action!r} needs the parameter {param.name!r}")
    try:
        to_command(action, params)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"bad parameters for {action!r}: {exc}") from None
