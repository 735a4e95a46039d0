"""The channel subscriber's bookmark and loss accounting, against wevtapi faked at the ctypes
boundary (tests/sensor/windows/fake_wevtapi.py)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from tests.sensor.windows.fake_wevtapi import FakeLog, FakeWevtapi, event_xml

from aurora.sensor.windows.channels import ChannelSubscriber, bookmark_path
from aurora.sensor.windows.evt_api import EvtApi, EvtError
from aurora.sensor.windows.ffi import wevtapi as w
from aurora.sensor.windows.sensor import WindowsSensor

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def subscriber(log: FakeLog, state: Path) -> tuple[ChannelSubscriber, FakeWevtapi]:
    dll = FakeWevtapi(log)
    return ChannelSubscriber(log.channel, state, EvtApi(dll, dll.last_error)), dll


def ids(records: list[dict]) -> list[int]:  # type: ignore[type-arg]
    return [r["Event"]["System"]["EventRecordID"] for r in records]


def test_first_run_reads_new_events_and_saves_the_bookmark_durably(tmp_path: Path) -> None:
    log = FakeLog(SYSMON)
    log.add(1, 2, 3)
    sub, dll = subscriber(log, tmp_path)
    sub.start()
    assert dll.calls[-1] == ("EvtSubscribe", (SYSMON, w.EvtSubscribeToFutureEvents))
    log.add(4, 5)
    assert ids(sub.poll(0)) == [4, 5]
    path = bookmark_path(tmp_path, SYSMON)
    assert not path.exists()  # saved only once the batch has been handed on ...
    assert sub.poll(0) == []
    assert "RecordId='5'" in path.read_text()  # ... which the next poll means
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sub.lost == 0


def test_restart_resumes_strictly_after_the_bookmark_without_loss_or_repeat(
    tmp_path: Path,
) -> None:
    log = FakeLog(SYSMON)
    log.add(1, 2)
    sub, _ = subscriber(log, tmp_path)
    sub.start()
    log.add(3, 4)
    assert ids(sub.poll(0)) == [3, 4]
    sub.stop()  # the agent flushed the batch before stopping its source
    log.add(5, 6, 7)  # written while the sensor was down
    again, dll = subscriber(log, tmp_path)
    again.start()
    assert ("EvtCreateBookmark", 4) in dll.calls
    strict = w.EvtSubscribeStartAfterBookmark | w.EvtSubscribeStrict
    assert dll.calls[-1] == ("EvtSubscribe", (SYSMON, strict))
    assert ids(again.poll(0)) == [5, 6, 7]
    assert again.lost == 0


def test_a_crash_before_the_save_re_reads_the_batch_rather_than_skipping_it(
    tmp_path: Path,
) -> None:
    log = FakeLog(SYSMON)
    sub, _ = subscriber(log, tmp_path)
    sub.start()
    log.add(1, 2)
    assert ids(sub.poll(0)) == [1, 2]
    sub.poll(0)  # bookmark at 2 saved
    log.add(3, 4)
    assert ids(sub.poll(0)) == [3, 4]
    # crash: no stop(), no further poll; the bookmark on disk still says 2
    again, _ = subscriber(log, tmp_path)
    again.start()
    assert ids(again.poll(0)) == [3, 4]


def test_a_record_id_jump_is_counted_as_lost(tmp_path: Path) -> None:
    log = FakeLog(SYSMON)
    sub, _ = subscriber(log, tmp_path)
    sub.start()
    log.add(10, 11, 14, 20)
    assert ids(sub.poll(0)) == [10, 11, 14, 20]
    assert sub.lost == 2 + 5


def test_a_stale_subscription_resumes_at_the_oldest_record_and_counts_the_gap(
    tmp_path: Path,
) -> None:
    log = FakeLog(SYSMON)
    sub, dll = subscriber(log, tmp_path)
    sub.start()
    log.add(1, 2, 3)
    assert ids(sub.poll(0)) == [1, 2, 3]
    # The log wrapped: 4..9 were overwritten before we read them.
    log.add(*range(4, 13))
    log.cleared_before = 10
    log.stale_once = True
    assert sub.poll(0) == []
    assert dll.calls[-1] == ("EvtSubscribe", (SYSMON, w.EvtSubscribeStartAtOldestRecord))
    assert ids(sub.poll(0)) == [10, 11, 12]
    assert sub.lost == 6


def test_a_bookmark_whose_record_was_cleared_restarts_at_the_oldest(tmp_path: Path) -> None:
    log = FakeLog(SYSMON)
    sub, _ = subscriber(log, tmp_path)
    sub.start()
    log.add(1, 2)
    sub.poll(0)
    sub.stop()
    log.add(3, 4, 5, 6)
    log.cleared_before = 5  # cleared while we were down; 3 and 4 are gone
    again, dll = subscriber(log, tmp_path)
    again.start()
    assert dll.calls[-1] == ("EvtSubscribe", (SYSMON, w.EvtSubscribeStartAtOldestRecord))
    assert ids(again.poll(0)) == [5, 6]
    assert again.lost == 2


def test_an_unreadable_record_is_counted_and_skipped_not_fatal(tmp_path: Path) -> None:
    log = FakeLog(SYSMON)
    sub, _ = subscriber(log, tmp_path)
    sub.start()
    broken = "<Event><System><EventRecordID>2</EventRecordID></System"
    log.records += [(1, event_xml(SYSMON, 1)), (2, broken), (3, event_xml(SYSMON, 3))]
    log.records += [(4, "<Event><System>"), (5, event_xml(SYSMON, 5))]
    assert ids(sub.poll(0)) == [1, 3, 5]
    # Each lost record is counted once, as undecodable, even 4 whose id could not be read and
    # so left a gap in the ids.
    assert sub.undecodable == 2 and sub.lost == 0
    sub.poll(0)
    assert "RecordId='5'" in bookmark_path(tmp_path, SYSMON).read_text()


def test_other_errors_are_raised_with_their_code(tmp_path: Path) -> None:
    log = FakeLog(SYSMON)
    sub, dll = subscriber(log, tmp_path)
    sub.start()
    dll.EvtNext = lambda *a: 0  # type: ignore[method-assign]
    dll.error = w.ERROR_INVALID_HANDLE
    with pytest.raises(EvtError, match="error 6") as info:
        sub.poll(0)
    assert info.value.code == w.ERROR_INVALID_HANDLE


class _NoEtw:
    enabled: dict[str, str] = {}

    def start(self) -> None:
        raise EvtError("StartTraceW", 5)

    def stop(self) -> None:
        pass


def test_sensor_reports_a_missing_channel_and_runs_the_rest(tmp_path: Path) -> None:
    log = FakeLog(SYSMON)
    dll = FakeWevtapi(log)
    api = EvtApi(dll, dll.last_error)
    subs = [ChannelSubscriber(c, tmp_path, api) for c in (SYSMON, "Security")]
    sensor = WindowsSensor(tmp_path, etw=_NoEtw(), subscribers=subs)  # type: ignore[arg-type]
    sensor.start()
    caps = {c.name: c for c in sensor.capabilities()}
    assert caps[f"channel:{SYSMON}"].loaded
    assert not caps["channel:Security"].loaded and "15007" in caps["channel:Security"].reason
    assert not caps["etw"].loaded
    log.add(1, 3)
    events = sensor.poll(0)
    assert [e["class_uid"] for e in events] == [1007, 1007]
    assert events[0]["process"]["file"]["path"] == "C:\\Windows\\System32\\cmd.exe"
    assert sensor.drop_counts()[f"channel:{SYSMON}"] == 1
    sensor.stop()


@pytest.mark.parametrize("damage", [b"<Bookmark garbage", b"\xff\xfe\x00not utf-8 \xc3("])
def test_a_damaged_bookmark_file_restarts_at_the_oldest_and_counts_a_loss(
    tmp_path: Path, damage: bytes
) -> None:
    log = FakeLog(SYSMON)
    log.add(7, 8)
    path = bookmark_path(tmp_path, SYSMON)
    path.parent.mkdir(parents=True)
    path.write_bytes(damage)
    sub, dll = subscriber(log, tmp_path)
    sub.start()
    assert dll.calls[-1] == ("EvtSubscribe", (SYSMON, w.EvtSubscribeStartAtOldestRecord))
    assert ids(sub.poll(0)) == [7, 8]
    assert sub.lost == 1  # what was lost cannot be measured: counted once, never zero
    sub.poll(0)
    assert "RecordId='8'" in path.read_text()  # and the file is sound again
