"""The base class of a plugin: who it is, what it emits, and the loop that produces events."""

from __future__ import annotations

import threading
from typing import ClassVar

from aurora.plugins.sdk.sink import EventSink


class Plugin:
    """Set ``name``, ``version`` and ``classes`` (the OCSF class ids it will emit; the manifest
    must allow them) and implement :meth:`run`."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = ""
    classes: ClassVar[tuple[int, ...]] = ()

    def run(self, sink: EventSink, stop: threading.Event) -> None:
        """Produce events into ``sink`` until ``stop`` is set. Runs on its own thread, connected
        or not: the sink holds events while the Runner reconnects."""
        raise NotImplementedError
