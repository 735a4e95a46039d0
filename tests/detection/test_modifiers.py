"""Golden tests: every Sigma modifier and condition form, positive and negative."""

from __future__ import annotations

import base64

import pytest

from aurora.detection import DetectionEngine

from .helpers import engine, fired, rule, sysmon

RID = "00000000-0000-0000-0000-000000000001"


def check(detection: str, hit: dict[str, object], miss: dict[str, object], **cfg: object) -> None:
    eng = engine(rule(detection), **cfg)
    assert fired(eng, sysmon(**hit)) == [RID], f"should fire on {hit}"
    assert fired(eng, sysmon(**miss)) == [], f"should not fire on {miss}"


MODIFIER_CASES = [
    # (detection block, matching EventData, non-matching EventData)
    (
        "    s:\n        Image: 'C:\\Windows\\cmd.exe'\n    condition: s",
        {"Image": "c:\\windows\\CMD.exe"},
        {"Image": "C:\\Windows\\cmd.exe.bak"},
    ),
    (
        "    s:\n        CommandLine|contains: 'whoami'\n    condition: s",
        {"CommandLine": "cmd /c WHOAMI /all"},
        {"CommandLine": "who ami"},
    ),
    (
        "    s:\n        Image|startswith: 'C:\\Temp\\'\n    condition: s",
        {"Image": "C:\\temp\\x.exe"},
        {"Image": "D:\\C:\\Temp\\x.exe"},
    ),
    (
        "    s:\n        Image|endswith: '\\evil.exe'\n    condition: s",
        {"Image": "C:\\x\\EVIL.EXE"},
        {"Image": "C:\\x\\evil.exe.txt"},
    ),
    (
        "    s:\n        CommandLine|contains|all:\n            - 'a1'\n            - 'b2'\n"
        "    condition: s",
        {"CommandLine": "x b2 y a1"},
        {"CommandLine": "x a1 only"},
    ),
    (
        "    s:\n        CommandLine|re: '^net\\s+user\\s+\\w+ /add$'\n    condition: s",
        {"CommandLine": "net  user bob /add"},
        {"CommandLine": "NET user bob /add"},
    ),
    (
        "    s:\n        CommandLine|re|i: 'net\\s+user'\n    condition: s",
        {"CommandLine": "NET USER"},
        {"CommandLine": "netuser"},
    ),
    (
        "    s:\n        CommandLine|re|m: '^second$'\n    condition: s",
        {"CommandLine": "first\nsecond\nthird"},
        {"CommandLine": "first second"},
    ),
    (
        "    s:\n        CommandLine|re|s: 'a.b'\n    condition: s",
        {"CommandLine": "a\nb"},
        {"CommandLine": "a\n\nb"},
    ),
    (
        "    s:\n        CommandLine|windash|contains: '-enc '\n    condition: s",
        {"CommandLine": "powershell /enc AAA"},
        {"CommandLine": "powershell enc AAA"},
    ),
    (
        "    s:\n        CommandLine|windash|contains: '-enc '\n    condition: s",
        {"CommandLine": "powershell \u2013enc AAA"},
        {"CommandLine": "powershell +enc AAA"},
    ),
    (
        "    s:\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: s",
        {"DestinationIp": "10.20.30.40"},
        {"DestinationIp": "11.0.0.1"},
    ),
    (
        "    s:\n        DestinationIp|cidr: 'fd00::/8'\n    condition: s",
        {"DestinationIp": "fd12::1"},
        {"DestinationIp": "10.0.0.1"},
    ),
    (
        "    s:\n        CommandLine|base64|contains: 'http://'\n    condition: s",
        {"CommandLine": "x " + base64.b64encode(b"http://").decode() + " y"},
        {"CommandLine": "http://"},
    ),
    (
        "    s:\n        CommandLine|base64offset|contains: 'evil'\n    condition: s",
        {"CommandLine": base64.b64encode(b"xxevilxx").decode()},
        {"CommandLine": "evil"},
    ),
    (
        "    s:\n        CommandLine|utf16le|base64offset|contains: 'IEX'\n    condition: s",
        {"CommandLine": "-e " + base64.b64encode("a IEX b".encode("utf-16-le")).decode()},
        {"CommandLine": "-e " + base64.b64encode(b"a IEX b").decode()},
    ),
    (
        "    s:\n        CommandLine|wide|base64offset|contains: 'IEX'\n    condition: s",
        {"CommandLine": base64.b64encode("IEX(".encode("utf-16-le")).decode()},
        {"CommandLine": "IEX"},
    ),
    (
        "    s:\n        CommandLine|utf16be|base64offset|contains: 'IEX'\n    condition: s",
        {"CommandLine": base64.b64encode("IEX(".encode("utf-16-be")).decode()},
        {"CommandLine": base64.b64encode("IEX(".encode("utf-16-le")).decode()},
    ),
    (
        "    s:\n        CommandLine|utf16|base64offset|contains: 'IEX'\n    condition: s",
        {"CommandLine": base64.b64encode("IEX(".encode("utf-16")).decode()},
        {"CommandLine": "IEX("},
    ),
    (
        "    s:\n        Image|fieldref: ParentImage\n    condition: s",
        {"Image": "C:\\a.exe", "ParentImage": "c:\\A.EXE"},
        {"Image": "C:\\a.exe", "ParentImage": "C:\\b.exe"},
    ),
    (
        "    s:\n        Image|fieldref|endswith: OriginalFileName\n    condition: s",
        {"Image": "C:\\x\\calc.exe", "OriginalFileName": "CALC.EXE"},
        {"Image": "C:\\x\\calc.exe", "OriginalFileName": "notepad.exe"},
    ),
    (
        "    s:\n        ParentImage|exists: true\n    condition: s",
        {"ParentImage": "x"},
        {"Image": "x"},
    ),
    (
        "    s:\n        ParentImage|exists: false\n    condition: s",
        {"Image": "x"},
        {"ParentImage": "x"},
    ),
    (
        "    s:\n        CommandLine|cased: 'Invoke-Mimikatz'\n    condition: s",
        {"CommandLine": "Invoke-Mimikatz"},
        {"CommandLine": "invoke-mimikatz"},
    ),
    (
        "    s:\n        CommandLine|contains|cased: 'IEX'\n    condition: s",
        {"CommandLine": "a IEX b"},
        {"CommandLine": "a iex b"},
    ),
    ("    s:\n        ProcessId|lt: 100\n    condition: s", {"ProcessId": 99}, {"ProcessId": 100}),
    (
        "    s:\n        ProcessId|lte: 100\n    condition: s",
        {"ProcessId": 100},
        {"ProcessId": 101},
    ),
    (
        "    s:\n        ProcessId|gt: 100\n    condition: s",
        {"ProcessId": "101"},
        {"ProcessId": 100},
    ),
    ("    s:\n        ProcessId|gte: 100\n    condition: s", {"ProcessId": 100}, {"ProcessId": 99}),
    ("    s:\n        ProcessId: 4242\n    condition: s", {"ProcessId": 4242}, {"ProcessId": 42}),
    (
        "    s:\n        Image|expand: '%tools%\\x.exe'\n    condition: s",
        {"Image": "D:\\Tools\\x.exe"},
        {"Image": "C:\\x.exe"},
    ),
    # wildcards: `\\` is an escaped backslash, so `\\*` is a backslash then a wildcard
    (
        "    s:\n        Image: 'C:\\\\*\\ab?.exe'\n    condition: s",
        {"Image": "C:\\dir\\sub\\abc.exe"},
        {"Image": "C:\\dir\\abcd.exe"},
    ),
    # `\*` is an escaped (literal) star
    (
        "    s:\n        Image: 'C:\\literal\\*star'\n    condition: s",
        {"Image": "C:\\literal*star"},
        {"Image": "C:\\literal\\xstar"},
    ),
]


@pytest.mark.parametrize(("detection", "hit", "miss"), MODIFIER_CASES)
def test_modifier(detection: str, hit: dict[str, object], miss: dict[str, object]) -> None:
    check(detection, hit, miss, placeholders={"tools": ["D:\\Tools", "E:\\Tools"]})


CONDITION_CASES = [
    (
        "    a:\n        Image|endswith: '\\a.exe'\n    b:\n        CommandLine|contains: 'x'\n"
        "    condition: a and not b",
        {"Image": "C:\\a.exe", "CommandLine": "y"},
        {"Image": "C:\\a.exe", "CommandLine": "x"},
    ),
    (
        "    a:\n        Image|endswith: '\\a.exe'\n    b:\n        CommandLine|contains: 'x'\n"
        "    condition: a or b",
        {"Image": "C:\\z.exe", "CommandLine": "x"},
        {"Image": "C:\\z.exe", "CommandLine": "y"},
    ),
    (
        "    a:\n        Image|endswith: '\\a.exe'\n    b:\n        CommandLine: 'x'\n"
        "    c:\n        User: 'bob'\n    condition: a and (b or c)",
        {"Image": "C:\\a.exe", "User": "BOB"},
        {"Image": "C:\\a.exe", "User": "eve"},
    ),
    (
        "    sel_1:\n        Image|endswith: '\\a.exe'\n    sel_2:\n        CommandLine: 'x'\n"
        "    condition: 1 of sel_*",
        {"CommandLine": "x"},
        {"CommandLine": "y"},
    ),
    (
        "    sel_1:\n        Image|endswith: '\\a.exe'\n    sel_2:\n        CommandLine: 'x'\n"
        "    condition: all of sel_*",
        {"Image": "C:\\a.exe", "CommandLine": "x"},
        {"Image": "C:\\a.exe", "CommandLine": "y"},
    ),
    (
        "    sel_1:\n        Image|endswith: '\\a.exe'\n    sel_2:\n        CommandLine: 'x'\n"
        "    condition: any of sel_*",
        {"Image": "C:\\a.exe"},
        {"Image": "C:\\b.exe"},
    ),
    (
        "    a:\n        Image|endswith: '\\a.exe'\n    b:\n        CommandLine: 'x'\n"
        "    condition: 1 of them",
        {"CommandLine": "x"},
        {"CommandLine": "z"},
    ),
    (
        "    a:\n        Image|endswith: '\\a.exe'\n    b:\n        CommandLine: 'x'\n"
        "    condition: all of them",
        {"Image": "C:\\a.exe", "CommandLine": "x"},
        {"Image": "C:\\a.exe"},
    ),
    (
        "    a:\n        Image|endswith: '\\a.exe'\n    f:\n        - CommandLine: 'x'\n"
        "        - User: 'bob'\n    condition: a and not f",
        {"Image": "C:\\a.exe", "User": "eve"},
        {"Image": "C:\\a.exe", "User": "bob"},
    ),
    (
        "    keywords:\n        - 'mimikatz'\n        - 'sekurlsa'\n    condition: keywords",
        {"CommandLine": "run SEKURLSA::logonpasswords"},
        {"CommandLine": "benign"},
    ),
    (
        "    keywords:\n        '|all':\n            - 'alpha'\n            - 'beta'\n"
        "    condition: keywords",
        {"CommandLine": "alpha", "User": "beta"},
        {"CommandLine": "alpha"},
    ),
    (
        "    a:\n        Image|endswith: '\\a.exe'\n    f:\n        ParentImage: null\n"
        "    condition: a and not f",
        {"Image": "C:\\a.exe", "ParentImage": "C:\\p.exe"},
        {"Image": "C:\\a.exe"},
    ),
    (
        "    a:\n        Image|endswith: '\\a.exe'\n        CommandLine: ''\n    condition: a",
        {"Image": "C:\\a.exe", "CommandLine": ""},
        {"Image": "C:\\a.exe", "CommandLine": "x"},
    ),
    (
        "    a:\n        Image|endswith: '\\a.exe'\n    b:\n        Image|endswith: '\\b.exe'\n"
        "    condition: not (a or b)",
        {"Image": "C:\\c.exe"},
        {"Image": "C:\\b.exe"},
    ),
    (
        "    a:\n        CommandLine|contains:\n            - 'one'\n            - 'two'\n"
        "    condition: a",
        {"CommandLine": "xx two"},
        {"CommandLine": "three"},
    ),
]


@pytest.mark.parametrize(("detection", "hit", "miss"), CONDITION_CASES)
def test_condition_form(detection: str, hit: dict[str, object], miss: dict[str, object]) -> None:
    check(detection, hit, miss)


def test_value_lists_in_events_match_any_element() -> None:
    eng = engine(
        rule("    s:\n        Data|contains: 'HostApplication=powershell'\n    condition: s")
    )
    ev = sysmon(Data=["NewEngineState=Available", "HostApplication=powershell -nop"])
    assert fired(eng, ev) == [RID]


def test_logsource_routing_keeps_rules_apart() -> None:
    eng = engine(
        rule(
            "    s:\n        TargetFilename|endswith: '.ps1'\n    condition: s",
            logsource="product: windows\n    category: file_event",
        ),
    )
    assert fired(eng, sysmon(11, TargetFilename="C:\\x.ps1")) == [RID]
    # same field value on a process_creation event: a file_event rule must not see it
    assert fired(eng, sysmon(1, TargetFilename="C:\\x.ps1")) == []


def test_service_rule_sees_its_channel_and_event_id_folds() -> None:
    eng = engine(
        rule(
            "    s:\n        EventID: 4688\n        NewProcessName|endswith: '\\x.exe'\n"
            "    condition: s",
            logsource="product: windows\n    service: security",
        )
    )
    assert fired(eng, sysmon(4688, channel="Security", NewProcessName="C:\\x.exe")) == [RID]
    assert fired(eng, sysmon(4689, channel="Security", NewProcessName="C:\\x.exe")) == []
    assert fired(eng, sysmon(4688, channel="System", NewProcessName="C:\\x.exe")) == []


def test_expand_without_placeholder_value_is_a_listed_error() -> None:
    eng = DetectionEngine.from_yaml(
        rule("    s:\n        Image|expand: '%nope%'\n    condition: s")
    )
    assert eng.rules == []
    assert len(eng.errors) == 1
    assert "placeholder %nope%" in eng.errors[0].reason


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (rule("    s:\n        Image|re: '(unclosed'\n    condition: s"), "regular expression"),
        (rule("    s:\n        Image: x\n    condition: s and missing"), "missing"),
        (rule("    s:\n        Image|nosuchmodifier: x\n    condition: s"), "nosuchmodifier"),
        ("title: broken\n  - : [", "mapping values"),
    ],
)
def test_broken_rules_are_reported_with_a_reason(doc: str, reason: str) -> None:
    eng = DetectionEngine.from_yaml(doc)
    assert eng.rules == []
    assert eng.errors and reason.lower() in str(eng.errors[0]).lower()


def test_disable_and_enable_by_rule_id() -> None:
    eng = engine(rule("    s:\n        Image|endswith: '\\a.exe'\n    condition: s"))
    ev = sysmon(Image="C:\\a.exe")
    eng.disable(RID)
    assert fired(eng, ev) == []
    eng.enable(RID)
    assert fired(eng, ev) == [RID]


def test_process_creation_rules_also_see_security_4688() -> None:
    eng = engine(
        rule(
            "    s:\n        Image|endswith: '\\x.exe'\n        ParentImage|endswith: '\\p.exe'\n"
            "        CommandLine|contains: '-enc'\n    condition: s"
        )
    )
    ev = sysmon(
        4688,
        channel="Security",
        NewProcessName="C:\\x.exe",
        ParentProcessName="C:\\p.exe",
        CommandLine="x -enc AAA",
    )
    assert ev["process"]["file"]["path"] == "C:\\x.exe"
    assert fired(eng, ev) == [RID]
    ev = sysmon(4688, channel="Security", NewProcessName="C:\\y.exe", CommandLine="x -enc")
    assert fired(eng, ev) == []
