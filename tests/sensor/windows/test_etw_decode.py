"""ETW decoding, asserted exactly on real recordings (../shared/data/windows-samples/etw, see its
SOURCE) and on payloads built to the providers' manifest layouts."""

from __future__ import annotations

import struct
import uuid
from pathlib import Path

import pytest

from aurora.ocsf.schema import OcsfSchema, load_schema
from aurora.sensor.windows.etl_file import EtlFile, EtlFileError
from aurora.sensor.windows.etw_decode import EtwDecodeError, decode, decode_kernel_process
from aurora.sensor.windows.etw_normalise import normalise_etw
from aurora.sensor.windows.etw_providers import AMSI, DNS_CLIENT, KERNEL_PROCESS, POWERSHELL
from aurora.sensor.windows.etw_record import EtwRecord
from aurora.sensor.windows.tracelogging import TraceLoggingError, decode_payload, parse_schema

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
ETW = DATA / "windows-samples" / "etw"
POWERSHELL_ENGINE = (
    "PowerShell_C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe_10.0.18362.1"
)


@pytest.fixture(scope="module")
def schema() -> OcsfSchema:
    return load_schema(str(DATA / "ocsf-schema-1.8.0"))


@pytest.fixture(scope="module")
def amsi() -> list[EtwRecord]:
    return list(EtlFile(ETW / "AMSITrace.etl").records())


@pytest.fixture(scope="module")
def shutdown() -> EtlFile:
    return EtlFile(ETW / "ShutdownPerfDiagLogger.etl")


@pytest.mark.shared_data
def test_amsi_trace_header_reports_its_losses() -> None:
    header = EtlFile(ETW / "AMSITrace.etl").header
    assert header.events_lost == 3 and header.buffers_lost == 0
    assert header.perf_freq == 10_000_000
    assert header.start_filetime == 132264173104203138


@pytest.mark.shared_data
def test_amsi_script_scans_decode_exactly(amsi: list[EtwRecord], schema: OcsfSchema) -> None:
    assert len(amsi) == 19
    first = decode(amsi[0])
    assert (first.provider_name, first.event_name) == ("AmsiTrace", "AmsiScript")
    assert amsi[0].provider == uuid.UUID("8e805eb3-6a8f-4a1e-90fa-a831d94e54a1")
    assert (amsi[0].pid, amsi[0].tid, amsi[0].time_ms) == (29868, 27320, 1581943737751)
    assert first.fields["Engine"] == POWERSHELL_ENGINE
    assert first.fields["Script"].startswith("if ($this.Name.IndexOf('-') -lt 0)\r\n")
    assert len(first.fields["Script"]) == 350
    assert first.fields["Raw Script"] == first.fields["Script"]
    second = decode(amsi[1])
    assert second.fields == {
        "Engine": POWERSHELL_ENGINE,
        "Script": "$global:?",
        "Raw Script": "$global:?",
    }
    last = decode(amsi[18])
    assert (amsi[18].pid, amsi[18].time_ms) == (32276, 1581943789975)
    assert last.fields["Engine"] == "VBScript"
    assert last.fields["Script"] == (
        'IWshShell3.Run("powershell.exe -nop -w 1 -enc RwBlAHQALQBBAGwAaQBhAHMA", "0", "true");\r\n'
    )
    engines = [decode(r).fields["Engine"] for r in amsi]
    assert engines.count("VBScript") == 4 and engines.count(POWERSHELL_ENGINE) == 15
    event = normalise_etw(last, "host1")
    assert event is not None and schema.validate(event) == []
    assert event["class_uid"] == 1009 and event["activity_id"] == 1
    assert event["script"]["script_content"]["value"] == last.fields["Script"]
    assert event["actor"]["process"]["pid"] == 32276
    assert event["unmapped"]["Engine"] == "VBScript"


@pytest.mark.shared_data
def test_kernel_process_records_decode_exactly(shutdown: EtlFile, schema: OcsfSchema) -> None:
    ends = [decode(r) for r in shutdown.records() if r.kernel_group == 3 and r.opcode == 2]
    assert len(ends) == 60
    assert ends[0].event_name == "Process/End"
    assert ends[0].record.time_ms == 1582910147436
    assert ends[0].fields == {
        "UniqueProcessKey": 0xFFFFCA8688B693C0,
        "ProcessId": 6780,
        "ParentId": 3856,
        "SessionId": 1,
        "ExitStatus": 0x40010004,
        "DirectoryTableBase": 0x26F5A000,
        "Flags": 0,
        "UserSID": "S-1-5-21-4151223144-1238771585-1724997581-1000",
        "ImageFileName": "SecurityHealthSystray.exe",
        "CommandLine": '"C:\\Windows\\System32\\SecurityHealthSystray.exe" ',
        "PackageFullName": "",
        "ApplicationId": "",
    }
    msmpeng = ends[-1].fields
    assert (msmpeng["ProcessId"], msmpeng["ParentId"], msmpeng["UserSID"]) == (
        5648,
        600,
        "S-1-5-18",
    )
    assert msmpeng["ImageFileName"] == "MsMpEng.exe" and msmpeng["Flags"] == 4
    packaged = [d.fields for d in ends if d.fields["PackageFullName"]]
    assert packaged and packaged[0]["ApplicationId"] == "App"
    event = normalise_etw(ends[0], "host1")
    assert event is not None and schema.validate(event) == []
    assert (event["class_uid"], event["activity_id"]) == (1007, 2)
    assert event["process"]["pid"] == 6780 and event["process"]["parent_process"]["pid"] == 3856
    assert event["process"]["user"]["uid"].endswith("-1000")


@pytest.mark.shared_data
def test_kernel_image_records_decode_exactly(shutdown: EtlFile, schema: OcsfSchema) -> None:
    images = [d for d in map(decode, shutdown.records()) if d.event_name.startswith("Image/")]
    counts = {
        n: sum(1 for d in images if d.event_name == n) for n in {d.event_name for d in images}
    }
    assert counts == {
        "Image/Load": 72,
        "Image/Unload": 4791,
        "Image/DCStart": 196,
        "Image/DCEnd": 193,
    }
    load = next(d for d in images if d.event_name == "Image/Load")
    assert load.record.time_ms == 1582910147463
    assert load.fields == {
        "ImageBase": 0x75610000,
        "ImageSize": 0x5E000,
        "ProcessId": 7064,
        "ImageChecksum": 419214,
        "TimeDateStamp": 1814063486,
        "FileName": "\\Device\\HarddiskVolume3\\Windows\\SysWOW64\\coml2.dll",
    }
    kernel = next(d for d in images if d.event_name == "Image/DCStart")
    assert kernel.fields["FileName"] == "\\SystemRoot\\system32\\ntoskrnl.exe"
    assert kernel.fields["ProcessId"] == 0 and kernel.fields["ImageSize"] == 11231232
    event = normalise_etw(load, "host1")
    assert event is not None and schema.validate(event) == []
    assert (event["class_uid"], event["activity_id"]) == (1005, 1)
    assert event["module"]["file"]["name"] == "coml2.dll"
    assert event["module"]["base_address"] == "0x75610000"
    assert event["actor"]["process"]["pid"] == 7064
    unload = normalise_etw(next(d for d in images if d.event_name == "Image/Unload"), "h")
    assert unload is not None and unload["activity_id"] == 2


def test_a_truncated_kernel_record_is_refused() -> None:
    good = struct.pack("<QIIIiQI", 1, 2, 3, 4, 0, 5, 0) + b"\0" * 16 + b"a.exe\0" + b"x\0"
    with pytest.raises(EtwDecodeError):
        decode_kernel_process(good, 4)


def _wstr(s: str) -> bytes:
    return (s + "\0").encode("utf-16-le")


# The event versions the layouts describe (etw_providers.LAYOUTS).
VERSIONS = {(KERNEL_PROCESS, 1): 3, (KERNEL_PROCESS, 2): 2, (POWERSHELL, 4104): 1}


def _record(
    provider: uuid.UUID, event_id: int, payload: bytes, version: int | None = None
) -> EtwRecord:
    v = VERSIONS.get((provider, event_id), 0) if version is None else version
    return EtwRecord(provider, event_id, v, 0, 4, 4321, 99, 132264173377518824, payload)


def test_manifest_events_decode_by_layout(schema: OcsfSchema) -> None:
    start = (
        struct.pack("<IQIII", 700, 132264173377518824, 600, 1, 0)
        + _wstr("\\Device\\HarddiskVolume3\\Windows\\System32\\cmd.exe")
        + struct.pack("<II", 0, 0)
        + _wstr("")
        + _wstr("")
    )
    d = decode(_record(KERNEL_PROCESS, 1, start))
    assert d.fields["ProcessID"] == 700 and d.fields["ParentProcessID"] == 600
    ev = normalise_etw(d, "h")
    assert ev is not None and schema.validate(ev) == []
    assert ev["process"]["name"] == "cmd.exe" and ev["activity_id"] == 1

    dns = _wstr("example.org") + struct.pack("<IQI", 1, 0, 0) + _wstr("93.184.216.34;")
    ev = normalise_etw(decode(_record(DNS_CLIENT, 3008, dns)), "h")
    assert ev is not None and schema.validate(ev) == []
    assert ev["query"]["hostname"] == "example.org" and ev["answers"] == [
        {"rdata": "93.184.216.34"}
    ]
    assert ev["rcode_id"] == 0
    nx = _wstr("nope.example") + struct.pack("<IQI", 1, 0, 9003) + _wstr("")
    ev = normalise_etw(decode(_record(DNS_CLIENT, 3008, nx)), "h")
    assert ev is not None and ev["rcode_id"] == 3 and "answers" not in ev  # NXDOMAIN

    content = "Invoke-Mimikatz".encode("utf-16-le")
    amsi = (
        struct.pack("<QBI", 1, 1, 32768)
        + _wstr("PowerShell")
        + _wstr("C:\\t.ps1")
        + struct.pack("<II", len(content), len(content))
        + content
        + b"\x11" * 32
        + struct.pack("<i", 0)
    )
    ev = normalise_etw(decode(_record(AMSI, 1101, amsi)), "h")
    assert ev is not None and schema.validate(ev) == []
    assert ev["script"]["script_content"]["value"] == "Invoke-Mimikatz"
    with pytest.raises(EtwDecodeError):
        decode(_record(AMSI, 1101, amsi[:-40]))


def test_powershell_4104_from_etw_matches_the_channel_shape() -> None:
    payload = (
        struct.pack("<ii", 1, 1)
        + _wstr("IEX (New-Object Net.WebClient)")
        + _wstr("{0b5c}")
        + _wstr("")
    )
    ev = normalise_etw(decode(_record(POWERSHELL, 4104, payload)), "h")
    assert ev is not None
    assert ev["metadata"]["log_name"] == "Microsoft-Windows-PowerShell/Operational"
    assert ev["unmapped"]["ScriptBlockText"] == "IEX (New-Object Net.WebClient)"
    assert ev["unmapped"]["EventID"] == 4104


def test_unknown_events_and_versions_are_kept_undecoded_not_guessed() -> None:
    d = decode(_record(KERNEL_PROCESS, 99, b"\x01\x02"))
    assert d.fields == {} and normalise_etw(d) is None
    older = decode(_record(KERNEL_PROCESS, 1, b"\x01" * 40, version=0))
    assert older.fields == {} and normalise_etw(older) is None


def test_tracelogging_refuses_what_it_cannot_size() -> None:
    schema = parse_schema(b"\x0a\x00\x00Ev\x00f\x00\x18")  # field type 24 (struct)
    with pytest.raises(TraceLoggingError, match="not supported"):
        decode_payload(schema, b"\x00" * 8)
    schema = parse_schema(b"\x0a\x00\x00Ev\x00n\x00\x08")  # one UINT32
    assert decode_payload(schema, struct.pack("<I", 7)) == {"n": 7}
    with pytest.raises(TraceLoggingError, match="too short"):
        decode_payload(schema, b"\x01")


def test_a_file_that_is_not_etl_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "x.etl"
    bad.write_bytes(b"not a trace" * 100)
    with pytest.raises(EtlFileError):
        EtlFile(bad)
