"""The ETW providers the sensor enables, and their manifest events' payload layouts as data.

Manifest events carry no schema in the record; rather than call TDH per event, the sensor keeps
each event's field list (name, type) for the versions it consumes, taken from the providers'
manifests (``wevtutil gp <provider> /ge /gm``). An event or version not listed here is kept
undecoded with its raw payload length, never guessed at.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

KERNEL_PROCESS = uuid.UUID("22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716")
DNS_CLIENT = uuid.UUID("1c95126e-7eea-49a9-a3fe-a378b03ddb4d")
POWERSHELL = uuid.UUID("a0c1853b-5c40-4b15-8766-3cf1c58f985a")
AMSI = uuid.UUID("2a576b87-09a7-520e-c21a-4942f0271d67")

PROVIDER_NAMES = {
    KERNEL_PROCESS: "Microsoft-Windows-Kernel-Process",
    DNS_CLIENT: "Microsoft-Windows-DNS-Client",
    POWERSHELL: "Microsoft-Windows-PowerShell",
    AMSI: "Microsoft-Antimalware-Scan-Interface",
}


@dataclass(frozen=True)
class Enablement:
    """One provider as the session enables it: level and the keywords that select its events."""

    provider: uuid.UUID
    level: int
    match_any_keyword: int


# Kernel-Process: WINEVENT_KEYWORD_PROCESS (0x10). PowerShell: all (4104 is keyword-less in
# some builds). DNS-Client and AMSI: every keyword; their volume is modest.
ENABLED = (
    Enablement(KERNEL_PROCESS, 4, 0x10),
    Enablement(DNS_CLIENT, 4, 0xFFFFFFFFFFFFFFFF),
    Enablement(POWERSHELL, 5, 0xFFFFFFFFFFFFFFFF),
    Enablement(AMSI, 4, 0xFFFFFFFFFFFFFFFF),
)

# Field types: u8/u32/i32/u64 little-endian integers, filetime (u64), wstr (UTF-16LE, NUL ended),
# astr (ANSI, NUL ended), bool (4-byte BOOL), bin:<field> (as many bytes as an earlier field
# says), bin32 (32 bytes), ptr (8 bytes: every payload here comes from a 64-bit process).
Layout = tuple[tuple[str, str], ...]

# Keyed by (provider, event id, event version): a version not listed is left undecoded.
LAYOUTS: dict[tuple[uuid.UUID, int, int], Layout] = {
    (KERNEL_PROCESS, 1, 3): (
        ("ProcessID", "u32"),
        ("CreateTime", "filetime"),
        ("ParentProcessID", "u32"),
        ("SessionID", "u32"),
        ("Flags", "u32"),
        ("ImageName", "wstr"),
        ("ImageChecksum", "u32"),
        ("TimeDateStamp", "u32"),
        ("PackageFullName", "wstr"),
        ("PackageRelativeAppId", "wstr"),
    ),
    (KERNEL_PROCESS, 2, 2): (
        ("ProcessID", "u32"),
        ("CreateTime", "filetime"),
        ("ExitTime", "filetime"),
        ("ExitCode", "u32"),
        ("TokenElevationType", "u32"),
        ("HandleCount", "u32"),
        ("CommitCharge", "u64"),
        ("CommitPeak", "u64"),
        ("CPUCycleCount", "u64"),
        ("ReadOperationCount", "u32"),
        ("WriteOperationCount", "u32"),
        ("ReadTransferKiloBytes", "u32"),
        ("WriteTransferKiloBytes", "u32"),
        ("HardFaultCount", "u32"),
        ("ImageName", "astr"),
    ),
    (DNS_CLIENT, 3008, 0): (
        ("QueryName", "wstr"),
        ("QueryType", "u32"),
        ("QueryOptions", "u64"),
        ("QueryStatus", "u32"),
        ("QueryResults", "wstr"),
    ),
    (POWERSHELL, 4104, 1): (
        ("MessageNumber", "i32"),
        ("MessageTotal", "i32"),
        ("ScriptBlockText", "wstr"),
        ("ScriptBlockId", "wstr"),
        ("Path", "wstr"),
    ),
    (AMSI, 1101, 0): (
        ("session", "ptr"),
        ("scanStatus", "u8"),
        ("scanResult", "u32"),
        ("appname", "wstr"),
        ("contentname", "wstr"),
        ("contentsize", "u32"),
        ("originalsize", "u32"),
        ("content", "bin:contentsize"),
        ("hash", "bin32"),
        ("contentFiltered", "bool"),
    ),
}
