"""The response actions both ends of the stream know: each one's name, parameters and policy.

The collector checks requests against this table and the sensor decodes what it receives with
it (:mod:`aurora.wire.action_codec`), so adding an action is adding one :class:`ActionSpec` here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from aurora.errors import UsageError

Kind = Literal["int", "bool", "str", "strs", "hex"]


class _Absent:
    """Marks a parameter that a request may leave out without anything being filled in."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Param:
    """One parameter of an action, as stored with the queued command and sent in its message."""

    name: str
    kind: Kind
    # Said after "<action>: " when a request gives a bad value (or leaves out a required one).
    problem: str = ""
    required: bool = False
    # What a request that leaves the parameter out gets; ABSENT leaves it out of the command.
    default: Any = ABSENT
    low: int | None = None
    high: int | None = None
    # A further check on a value of the right kind, e.g. "an absolute path".
    accept: Callable[[Any], bool] | None = None
    tidy: Callable[[Any], Any] | None = None
    # The message field when it is named differently; a request may use either name.
    field: str = ""
    # The sensor executor's name for it, when it differs.
    host_key: str = ""
    # The sensor leaves a zero or empty value out, so its executor applies its own default.
    omit_if_empty: bool = False
    # False: on the wire, but not something an analyst or a rule may set.
    requestable: bool = True

    @property
    def wire_name(self) -> str:
        return self.field or self.name


@dataclass(frozen=True)
class ActionSpec:
    """An action: its name (also the ``Command.action`` oneof field) and its parameters.

    ``requestable`` actions are the ones an analyst or a rule may ask for, and exactly the ones
    the sensor's executor runs; the others are on the wire but answered "unsupported" for now.
    """

    name: str
    params: tuple[Param, ...] = ()
    requestable: bool = True
    # An administrator's change with its own audited command (`aurora plugin`), never asked for
    # by an analyst or a rule, but run by the sensor.
    admin: bool = False


def _absolute_path(value: str) -> bool:
    return value.startswith("/") and "\x00" not in value


def _short_name(value: str) -> bool:
    return bool(value.strip()) and len(value) <= 200


def _artifact_names(value: list[Any]) -> bool:
    return all(name and len(name) <= 200 for name in value)


REGISTRY: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        # Extra reachable addresses exist on the wire, but a request may not widen isolation yet.
        ActionSpec("isolate", (Param("allow", "strs", default=(), requestable=False),)),
        ActionSpec("unisolate"),
        ActionSpec(
            "kill",
            (
                # pid 1 is never killed; the ceiling is the proto's uint32.
                Param(
                    "pid",
                    "int",
                    "pid must be an integer above 1 (pid 1 is never killed)",
                    required=True,
                    low=2,
                    high=2**32 - 1,
                ),
                # Stored as start_time (the collector's store and the sensor's executor read that
                # name); the message calls it start_time_unix_ms.
                Param(
                    "start_time",
                    "int",
                    "start_time_unix_ms must be a non-negative integer",
                    default=0,
                    low=0,
                    high=2**62 - 1,
                    field="start_time_unix_ms",
                    omit_if_empty=True,
                ),
                Param("tree", "bool", "tree must be true or false", default=False),
            ),
        ),
        ActionSpec(
            "quarantine",
            (
                Param(
                    "path",
                    "str",
                    "path must be an absolute file path",
                    required=True,
                    accept=_absolute_path,
                ),
            ),
        ),
        ActionSpec(
            "restore",
            (
                Param(
                    "quarantine_id",
                    "str",
                    "quarantine_id must be a non-empty string",
                    required=True,
                    accept=_short_name,
                    tidy=str.strip,
                    host_key="id",
                ),
            ),
        ),
        ActionSpec(
            "triage",
            (
                Param(
                    "artifacts",
                    "strs",
                    "artifacts must be a list of artifact names",
                    default=(),
                    accept=_artifact_names,
                    omit_if_empty=True,
                ),
                Param(
                    "max_bytes",
                    "int",
                    "max_bytes must be a positive integer",
                    low=1,
                    high=2**63 - 1,
                    omit_if_empty=True,
                ),
            ),
        ),
        # Staged by a rollout (collector.rollouts), never asked for as a host action.
        ActionSpec(
            "update",
            (
                Param("version", "str", required=True),
                Param("package_sha256", "hex"),
                Param("url", "str"),
                Param("package_size", "int", low=0),
                Param("confirm_within_s", "int", low=0, high=2**32 - 1),
            ),
            requestable=False,
        ),
        ActionSpec("config", (Param("toml", "str"),), requestable=False),
        ActionSpec(
            "plugin",
            (
                Param("op", "str", "op must be add or remove", required=True),
                Param("name", "str", "name must be a plugin name", required=True),
                Param("manifest", "str", field="manifest_json", omit_if_empty=True),
            ),
            requestable=False,
            admin=True,
        ),
    )
}

ACTION_NAMES = tuple(REGISTRY)
REQUESTABLE = tuple(name for name, spec in REGISTRY.items() if spec.requestable)
#: What a sensor runs: the requestable actions and the administrators' changes.
HOST_ACTIONS = REQUESTABLE + tuple(name for name, spec in REGISTRY.items() if spec.admin)


def _has_kind(param: Param, value: Any) -> bool:
    if param.kind == "int":
        # bool is an int in Python; a pid of True is still a mistake.
        return isinstance(value, int) and not isinstance(value, bool)
    if param.kind == "bool":
        return isinstance(value, bool)
    if param.kind == "strs":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return isinstance(value, str)


def _is_valid(param: Param, value: Any) -> bool:
    if not _has_kind(param, value):
        return False
    if param.low is not None and value < param.low:
        return False
    if param.high is not None and value > param.high:
        return False
    return param.accept is None or param.accept(value)


def check_request(action: str, params: dict[str, Any]) -> dict[str, Any]:
    """The stored parameters for an analyst's or a rule's request; UsageError names the bad one."""
    spec = REGISTRY.get(action)
    if spec is None or not spec.requestable:
        raise UsageError(f"unknown action {action!r}; choose one of {', '.join(REQUESTABLE)}")
    settable = [p for p in spec.params if p.requestable]
    known = {name for p in settable for name in (p.name, p.wire_name)}
    extra = sorted(set(params) - known)
    if extra:
        raise UsageError(f"{action}: unknown parameter {extra[0]!r}")
    clean: dict[str, Any] = {}
    for param in settable:
        # The message's name wins when a request gives both, as it always has.
        key = next((k for k in (param.wire_name, param.name) if k in params), None)
        if key is not None:
            value = params[key]
        elif param.required:
            raise UsageError(f"{action}: {param.problem}")
        elif param.default is ABSENT:
            continue
        else:
            # Defaults are kept immutable in the table; a stored list is the request's own copy.
            value = list(param.default) if param.kind == "strs" else param.default
        if not _is_valid(param, value):
            raise UsageError(f"{action}: {param.problem}")
        if param.tidy is not None:
            value = param.tidy(value)
        clean[param.name] = value
    return clean


def spec_of(action: str) -> ActionSpec:
    """The action's entry; UsageError for a name no side knows."""
    spec = REGISTRY.get(action)
    if spec is None:
        raise UsageError(f"unknown action {action!r}; one of {', '.join(ACTION_NAMES)}")
    return spec
