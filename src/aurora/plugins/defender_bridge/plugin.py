"""The bridge as an SDK plugin: read Defender's channel, turn each threat or tamper record into an
OCSF Detection Finding with the Windows sensor's decoder, emit it."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any, ClassVar

from aurora import __version__
from aurora.plugins.defender_bridge.source import DefenderSource, LiveChannel, RecordedChannel
from aurora.plugins.sdk import EventSink, Plugin, Runner
from aurora.plugins.sdk.runner import DEFAULT_SOCKET
from aurora.sensor.windows.defender import DETECTION_FINDING, defender_finding
from aurora.sensor.windows.eventxml import EventXmlError

log = logging.getLogger(__name__)

NAME = "defender-bridge"
STATE_DIR = Path(r"C:\ProgramData\Aurora\defender-bridge")
MANIFEST = Path(__file__).with_name("manifest.toml")
_POLL_MS = 500


class DefenderBridge(Plugin):
    name: ClassVar[str] = NAME
    version: ClassVar[str] = __version__
    classes: ClassVar[tuple[int, ...]] = (DETECTION_FINDING,)

    def __init__(self, source: DefenderSource) -> None:
        self.source = source
        self.emitted = 0
        self.skipped = 0  # Defender records that are neither a threat nor a tamper event
        self.undecodable = 0

    def run(self, sink: EventSink, stop: threading.Event) -> None:
        self.source.start()
        try:
            while not stop.is_set():
                for record in self.source.poll(_POLL_MS):
                    self.handle(record, sink)
        finally:
            self.source.stop()

    def handle(self, record: dict[str, Any], sink: EventSink) -> None:
        try:
            finding = defender_finding(record)
        except (EventXmlError, AttributeError, KeyError, TypeError, ValueError) as exc:
            # A record the decoder cannot read is counted and logged, never the bridge's end.
            self.undecodable += 1
            sink.count_lost(1)
            log.warning("defender-bridge: record skipped: %s", exc)
            return
        if finding is None:
            self.skipped += 1
            return
        sink.emit(finding)
        self.emitted += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="aurora-defender-bridge",
        description="Aurora plugin: Microsoft Defender detections and protection tampering as "
        "OCSF Detection Findings.",
    )
    parser.add_argument(
        "--replay", type=Path, nargs="+", metavar="FILE", help="recorded .evtx/.json instead"
    )
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR, help="channel bookmark")
    parser.add_argument("--socket", type=Path, default=DEFAULT_SOCKET, help="sensor socket")
    parser.add_argument("--pipe", help="sensor pipe (Windows default: \\\\.\\pipe\\aurora-plugins)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.replay:
        source: DefenderSource = RecordedChannel(args.replay)
    elif sys.platform == "win32":
        source = LiveChannel(args.state_dir)
    else:
        print(
            "aurora-defender-bridge: the live channel exists only on Windows; use --replay FILE",
            file=sys.stderr,
        )
        return 2
    runner = Runner(DefenderBridge(source), args.socket, pipe_name=args.pipe)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    signal.signal(signal.SIGINT, lambda *_: runner.stop())
    return runner.run()
