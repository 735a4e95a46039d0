"""The response-action registry: proto round trips, one-line refusals, one list for both sides."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest

from aurora.api.routes.actions import ActionBody
from aurora.config.response import ResponseConfig
from aurora.errors import UsageError
from aurora.sensor.response import ResponseExecutor
from aurora.sensor.response.isolation_windows import WfpIsolation
from aurora.sensor.transport.commands import command_params
from aurora.v1 import stream_pb2
from aurora.wire import (
    ACTION_NAMES,
    HOST_ACTIONS,
    REGISTRY,
    REQUESTABLE,
    Param,
    check_request,
    check_sendable,
    from_command,
    to_command,
)


def _sample(param: Param) -> Any:
    """A value of the parameter's kind that is neither empty nor out of bounds."""
    if param.kind == "int":
        return (param.low or 0) + 41
    if param.kind == "bool":
        return True
    if param.kind == "strs":
        return ["Linux.Processes", "Linux.Users"]
    if param.kind == "hex":
        return "ab" * 32
    return "/var/tmp/sample"


def _samples(action: str) -> dict[str, Any]:
    return {p.name: _sample(p) for p in REGISTRY[action].params}


def test_every_oneof_action_of_the_proto_is_registered() -> None:
    oneof = stream_pb2.Command.DESCRIPTOR.oneofs_by_name["action"]
    assert {field.name for field in oneof.fields} == set(ACTION_NAMES)


@pytest.mark.parametrize("action", ACTION_NAMES)
def test_params_round_trip_through_the_command(action: str) -> None:
    params = _samples(action)
    msg = to_command(action, params, command_id="c1", expires_ms=7, requested_by="analyst")
    assert (msg.command_id, msg.expires_at_unix_ms, msg.requested_by) == ("c1", 7, "analyst")
    assert msg.WhichOneof("action") == action
    assert from_command(msg) == (action, params)
    check_sendable(action, params)


@pytest.mark.parametrize("action", ACTION_NAMES)
def test_command_round_trips_through_the_params(action: str) -> None:
    """Decoding and encoding again gives the same message, defaults included."""
    for params in (
        _samples(action),
        {p.name: _sample(p) for p in REGISTRY[action].params if p.required},
    ):
        msg = to_command(action, params)
        decoded, again = from_command(msg)
        assert decoded == action
        assert to_command(action, again) == msg


@pytest.mark.parametrize(
    ("action", "param"),
    [(a, p) for a in REQUESTABLE for p in REGISTRY[a].params if p.requestable],
    ids=lambda v: v if isinstance(v, str) else v.name,
)
def test_bad_requested_parameters_are_one_clear_line(action: str, param: Param) -> None:
    good = check_request(action, _samples_requestable(action))
    for bad in ({"a": 1}, None, 2**70, -1, True, "", [3]):
        if bad in (True, False) and param.kind == "bool":
            continue
        try:
            check_request(action, {**good, param.name: bad})
        except UsageError as exc:
            assert exc.message.startswith(f"{action}: "), exc.message
            assert param.name in exc.message or param.wire_name in exc.message, exc.message
            assert "\n" not in exc.message
        else:
            pytest.fail(f"{action} accepted {param.name}={bad!r}")


def _samples_requestable(action: str) -> dict[str, Any]:
    return {p.name: _sample(p) for p in REGISTRY[action].params if p.requestable}


@pytest.mark.parametrize("action", REQUESTABLE)
def test_an_unknown_parameter_is_named(action: str) -> None:
    with pytest.raises(UsageError, match=f"^{action}: unknown parameter 'signal'$"):
        check_request(action, {**_samples_requestable(action), "signal": 9})


def test_sensor_and_collector_accept_the_same_actions(tmp_path: Path) -> None:
    executor = ResponseExecutor(
        tmp_path, ResponseConfig(), ("127.0.0.1", 9), backend=WfpIsolation()
    )
    # Parameters every handler refuses (or, for unisolate, ignores) before it touches the host.
    probe = {"allow": [5], "max_bytes": 1}
    for action in ACTION_NAMES:
        requestable = action in REQUESTABLE
        runs = executor.execute(action, dict(probe)).error_code != "unknown_action"
        assert runs == requestable, action
        decoded, _ = command_params(to_command(action, _samples(action)))
        # The sensor also decodes the administrators' changes (`plugin`), which no analyst or
        # rule may request and the plugin admin (not the response executor) runs.
        assert (decoded == action) == (action in HOST_ACTIONS), action
        assert (action in HOST_ACTIONS) == (requestable or REGISTRY[action].admin), action
        try:
            check_request(action, _samples_requestable(action))
            accepted = True
        except UsageError as exc:
            accepted = "unknown action" not in exc.message
        assert accepted == requestable, action
    # The API's request body offers the same list.
    assert typing.get_args(ActionBody.model_fields["action"].annotation) == REQUESTABLE


def test_an_unknown_action_is_refused_on_both_sides(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown action 'reboot'; choose one of isolate"):
        check_request("reboot", {})
    with pytest.raises(UsageError, match="unknown action 'reboot'; one of isolate"):
        check_sendable("reboot", {})
    with pytest.raises(UsageError, match="unknown action 'reboot'"):
        to_command("reboot", {})
    executor = ResponseExecutor(tmp_path, ResponseConfig(), None, backend=WfpIsolation())
    res = executor.execute("reboot", {})
    assert res.error_code == "unknown_action" and "reboot" in res.message
    assert command_params(stream_pb2.Command(command_id="empty")) == (None, {})


def test_a_required_parameter_is_needed_to_queue() -> None:
    for action, spec in REGISTRY.items():
        for param in spec.params:
            if param.required:
                rest = {k: v for k, v in _samples(action).items() if k != param.name}
                with pytest.raises(UsageError, match=f"needs the parameter '{param.name}'"):
                    check_sendable(action, rest)
