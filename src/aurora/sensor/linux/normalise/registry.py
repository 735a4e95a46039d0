"""Which handler turns each kind of ring-buffer record into OCSF, and the dispatcher over them.

Each event family registers its handlers by record kind when its module is imported (tetragon's
``RegisterEventHandlerAtInit``), so the dispatcher is one dict lookup per record and never lists
the kinds itself. A new family is a new module with ``@register(R.EV_...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aurora.sensor.linux import records as R
from aurora.sensor.linux.decode import HDR
from aurora.sensor.linux.normalise.context import NormaliseContext

Handler = Callable[[NormaliseContext, bytes], dict[str, Any] | None]

_HANDLERS: dict[int, Handler] = {}
_HDR_SIZE, _KIND = HDR.size, R.EvHdr.kind.offset


def register(kind: int) -> Callable[[Handler], Handler]:
    """Decorator: ``handler`` normalises every record of ``kind`` (one handler per kind)."""

    def add(handler: Handler) -> Handler:
        if kind in _HANDLERS:
            raise ValueError(f"record kind {kind} already has a handler: {_HANDLERS[kind]}")
        _HANDLERS[kind] = handler
        return handler

    return add


def registered_kinds() -> frozenset[int]:
    return frozenset(_HANDLERS)


class Normaliser(NormaliseContext):
    """Decoded kernel records -> enriched OCSF 1.8.0 events, keeping the process table current."""

    def normalise(self, data: bytes) -> dict[str, Any] | None:
        """One ring-buffer record -> one OCSF event, or None (fork, short or unknown record)."""
        if len(data) < _HDR_SIZE:
            return None
        handler = _HANDLERS.get(int.from_bytes(data[_KIND : _KIND + 4], "little"))
        return None if handler is None else handler(self, data)
