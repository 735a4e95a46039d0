"""Event-log channel subscriptions that resume where they stopped and count what they missed.

Each channel is read with EvtSubscribe after its saved bookmark (``StartAfterBookmark |
Strict``: if the bookmarked record is gone the call fails rather than silently starting
elsewhere). The bookmark is written durably (``write_atomic``) once the batch it covers has been
handed on, at the next poll, so a crash re-reads at most that batch and never skips one (the
model is Winlogbeat's checkpointing; a watcher that starts from "now" loses what was written while
it was down). EventRecordIDs are consecutive per channel, so a jump is a counted loss; so is a
subscription the log outran (``ERROR_EVT_QUERY_RESULT_STALE``: cleared or rolled over), after
which reading resumes at the oldest record still there.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from aurora.atomicfile import write_atomic
from aurora.sensor.windows.eventxml import EventXmlError, record_from_xml
from aurora.sensor.windows.evt_api import EvtApi, EvtError
from aurora.sensor.windows.ffi import wevtapi as w

log = logging.getLogger(__name__)

CHANNELS = (
    "Microsoft-Windows-Sysmon/Operational",
    "Security",
    "System",
    "Microsoft-Windows-PowerShell/Operational",
    "Microsoft-Windows-Windows Defender/Operational",
)
_BATCH = 256
_XML_RECORD_ID = re.compile(r"<EventRecordID>(\d+)</EventRecordID>")
_RECORD_ID = re.compile(r"RecordId='(\d+)'|RecordId=\"(\d+)\"")
# Resubscribing after these means the saved position no longer exists in the log.
_POSITION_LOST = {
    w.ERROR_EVT_QUERY_RESULT_STALE,
    w.ERROR_EVT_QUERY_RESULT_INVALID_POSITION,
    1168,  # ERROR_NOT_FOUND: Strict and the bookmarked record was cleared
}


def bookmark_path(state_dir: Path, channel: str) -> Path:
    return state_dir / "bookmarks" / (re.sub(r"[^A-Za-z0-9_.-]", "_", channel) + ".xml")


class ChannelSubscriber:
    """One channel: ``poll`` returns evtx-shaped records; ``lost`` counts missed records."""

    def __init__(self, channel: str, state_dir: Path, api: EvtApi | None = None) -> None:
        self.channel = channel
        self.api = api or EvtApi()
        self.path = bookmark_path(state_dir, channel)
        self.lost = 0
        self.undecodable = 0
        self.last_record_id: int | None = None
        self._subscription: int | None = None
        self._bookmark: int | None = None
        self._unsaved = False
        self._unidentified = 0

    def start(self) -> None:
        try:
            saved: str | None = self.path.read_text() if self.path.is_file() else None
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("%s: bookmark %s unreadable (%s)", self.channel, self.path, exc)
            saved = ""  # there was a position, we cannot read it: treat it as lost
        if saved:
            match = _RECORD_ID.search(saved)
            if match:
                self.last_record_id = int(match.group(1) or match.group(2))
            try:
                self._bookmark = self.api.create_bookmark(saved)
            except EvtError as exc:
                # A damaged bookmark file: the position is lost, not the channel.
                log.warning("%s: bookmark %s refused (error %d)", self.channel, self.path, exc.code)
                saved = ""
        if saved == "":
            self._bookmark = self.api.create_bookmark(None)
            self._resubscribe_oldest(w.ERROR_EVT_QUERY_RESULT_INVALID_POSITION)
            return
        if self._bookmark is None:
            self._bookmark = self.api.create_bookmark(None)
        try:
            self._subscription = self.api.subscribe(self.channel, self._bookmark if saved else None)
        except EvtError as exc:
            if exc.code not in _POSITION_LOST:
                raise
            self._resubscribe_oldest(exc.code)

    def _resubscribe_oldest(self, code: int) -> None:
        # What was between the bookmark and the oldest record left is gone; the id jump of the
        # next record measures it. Nothing to measure it by (first record id unknown) counts 1.
        log.warning(
            "%s: saved position lost (error %d), reading from the oldest record", self.channel, code
        )
        if self._subscription is not None:
            self.api.close(self._subscription)
        self._subscription = self.api.subscribe_oldest(self.channel)
        if self.last_record_id is None:
            self.lost += 1

    def save(self) -> None:
        """Write the bookmark of everything returned so far (the caller has handed it on)."""
        if not self._unsaved or self._bookmark is None:
            return
        xml = self.api.render_bookmark(self._bookmark)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(self.path, xml.encode())
        self._unsaved = False

    def poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        self.save()  # the previous batch was handed on before this call
        assert self._subscription is not None, "start() first"
        try:
            handles = self.api.next(self._subscription, _BATCH, timeout_ms)
        except EvtError as exc:
            if exc.code not in _POSITION_LOST:
                raise
            self._resubscribe_oldest(exc.code)
            return []
        out: list[dict[str, Any]] = []
        for handle in handles:
            try:
                record = self._take(handle)
            finally:
                self.api.close(handle)
            if record is not None:
                out.append(record)
        return out

    def _take(self, handle: int) -> dict[str, Any] | None:
        xml = ""
        try:
            xml = self.api.render_xml(handle)
            record = record_from_xml(xml)
        except (EventXmlError, EvtError) as exc:
            self.undecodable += 1
            log.warning("%s: event dropped: %s", self.channel, exc)
            # Counted once, as undecodable: its id (if readable) must not also look like a gap.
            found = _XML_RECORD_ID.search(xml)
            if found:
                self._advance(int(found.group(1)))
            else:
                self._unidentified += 1  # the id gap it leaves is not a second loss
            assert self._bookmark is not None
            self.api.update_bookmark(self._bookmark, handle)
            self._unsaved = True
            return None
        rid = record["Event"].get("System", {}).get("EventRecordID")
        if isinstance(rid, int) and not self._advance(rid):
            return None  # already delivered before a restart: at-least-once, not twice
        assert self._bookmark is not None
        self.api.update_bookmark(self._bookmark, handle)
        self._unsaved = True
        return record

    def _advance(self, rid: int) -> bool:
        """Move past record ``rid``, counting skipped ids as lost; False if already seen."""
        last = self.last_record_id
        if last is not None and rid <= last:
            return False
        if last is not None and rid > last + 1:
            gap = rid - last - 1
            counted = min(gap, self._unidentified)
            self._unidentified -= counted
            if gap > counted:
                self.lost += gap - counted
                log.warning("%s: records %d..%d missing", self.channel, last + 1, rid - 1)
        self.last_record_id = rid
        return True

    def stop(self) -> None:
        self.save()  # the agent flushed the last batch before stopping its source
        for handle in (self._subscription, self._bookmark):
            if handle is not None:
                self.api.close(handle)
        self._subscription = self._bookmark = None
