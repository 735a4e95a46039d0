"""Matcher internals: the generated hit collector equals the generic one; caches stay bounded
and never change results."""

from __future__ import annotations

import json
from typing import Any

from aurora.detection import DetectionEngine

from .helpers import DATA, engine, fired, golden, rule, sysmon


def linux_events() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in sorted((DATA / "linux_events").glob("*.json")):
        d = json.loads(f.read_text())
        out += d["positive"] + d["negative"]
    return out


def test_generated_hits_equal_generic_hits() -> None:
    eng = DetectionEngine.load([], include_builtin=True)
    events = linux_events()
    assert len(events) > 40
    for ev in events:
        m = eng.matcher(eng.mapping.route_of(ev))
        assert m.literal_hits(ev) == m.generic_hits(ev)


def test_results_identical_with_and_without_caches() -> None:
    warm = DetectionEngine.load([], include_builtin=True)
    cold = DetectionEngine(warm.rules, warm.errors, warm.config, value_cache=0)
    for ev in linux_events() * 3:
        assert [r.id for r in warm.match_rules(ev)] == [r.id for r in cold.match_rules(ev)]


def test_value_cache_is_bounded() -> None:
    eng = engine(rule("    s:\n        CommandLine|contains: 'evil'\n    condition: s"))
    eng.value_cache = 8
    for i in range(100):
        fired(eng, sysmon(CommandLine=f"run {i}"))
    m = next(iter(eng._matchers.values()))
    assert all(len(fi.cache) <= 8 for fi in m._fields)
    assert all(len(p) <= 8 for p in (m._plans, m._gate_plans))
    assert fired(eng, sysmon(CommandLine="an EVIL one")) != []


def test_regex_rule_is_only_a_candidate_when_its_literal_is_present() -> None:
    eng = engine(rule("    s:\n        CommandLine|re: 'powershell.+-enc'\n    condition: s"))
    m = eng.matcher(eng.mapping.route_of(sysmon(CommandLine="x")))
    assert m._always == ()  # the regex's required literal made it indexable
    assert fired(eng, sysmon(CommandLine="powershell -nop -enc AAA")) != []
    assert fired(eng, sysmon(CommandLine="pwsh -enc AAA")) == []


def test_routing_tolerates_odd_event_values() -> None:
    eng = engine(rule("    s:\n        Image|endswith: '\\a.exe'\n    condition: s"))
    odd: list[dict[str, Any]] = [
        {"unmapped": {"Channel": "Security", "EventID": ["x"]}},
        {"unmapped": {"Channel": "Security", "EventID": "not a number"}},
        {"class_uid": "x", "activity_id": None},
        {"class_uid": [1], "activity_id": {}},
        {},
    ]
    for ev in odd:
        assert eng.match(ev) == []
    assert fired(eng, sysmon(Image="C:\\a.exe")) != []


def test_ungated_regex_rule_is_indexed_by_its_own_result() -> None:
    # no literal of 3+ characters is required by this regex, so nothing else gates the rule
    eng = engine(
        rule("    s:\n        CommandLine|re: '\\s[a-f0-9]{8}\\s'\n    condition: s"),
        rule(
            "    s:\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: s",
            rid="00000000-0000-0000-0000-000000000002",
        ),
    )
    m = eng.matcher(eng.mapping.route_of(sysmon(CommandLine="x")))
    assert m._always == ()
    assert fired(eng, sysmon(CommandLine="run deadbeef now")) != []
    assert fired(eng, sysmon(CommandLine="run deadbeefx now")) == []
    assert fired(eng, sysmon(CommandLine="run deadbeef now", DestinationIp="10.1.2.3")) == [
        "00000000-0000-0000-0000-000000000001",
        "00000000-0000-0000-0000-000000000002",
    ]


def test_windows_keyword_slot_equals_the_general_reading() -> None:
    # the learned-layout reader must give the generic key whatever the records look like
    eng = engine(
        rule("    keywords:\n        - 'mimikatz'\n        - 'kiwi*'\n    condition: keywords"),
        rule(
            "    s:\n        CommandLine|contains: 'evil'\n    condition: s",
            rid="00000000-0000-0000-0000-000000000002",
        ),
    )
    events = [
        sysmon(CommandLine="a", Image="b", ProcessId=1),
        sysmon(CommandLine="run mimikatz", Image="d", ProcessId=2),  # same layout
        sysmon(CommandLine="e", Image="kiwi.exe", ProcessId="now text"),  # int became text
        sysmon(CommandLine="g", Image=None, ProcessId=3),  # text became None
        sysmon(CommandLine="h", Data=["x", "mimikatz"], ProcessId=4),  # other keys, a list
        sysmon(CommandLine="i\nkiwi", Data=["z"], ProcessId=5),  # prefix after a newline
        sysmon(CommandLine="evil", Image="x"),
    ]
    m = eng.matcher(eng.mapping.route_of(events[0]))
    for ev in events * 2:
        assert m.literal_hits(ev) == m.generic_hits(ev)
    assert [fired(eng, ev) for ev in events] == [
        [],
        ["00000000-0000-0000-0000-000000000001"],
        ["00000000-0000-0000-0000-000000000001"],
        [],
        ["00000000-0000-0000-0000-000000000001"],
        [],
        ["00000000-0000-0000-0000-000000000002"],
    ]


def test_one_pass_scan_of_many_values_equals_scanning_each() -> None:
    from aurora.detection.index import FieldIndex

    def index() -> FieldIndex:
        fi = FieldIndex("<keywords>", lambda ev: None, cap=0)
        for pid, (kind, lit) in enumerate(
            [("contains", "ab"), ("prefix", "ab"), ("suffix", "ab"), ("contains", "b\nc")]
        ):
            fi.add(kind, lit, pid)
        fi.freeze()
        return fi

    values = ["ab", "xab", "abx", "b", "c", "xaby", "", "AB\nC", "a", "b"]
    joined = index().scan_texts(values)
    each: set[int] = set()
    for v in values:
        each |= index().scan(v)
    assert joined == each == {0, 1, 2, 3}
    # a literal does not match across two values
    assert index().scan_texts(["xa", "bx"]) == set()
    assert index().scan_texts(["b", "c"]) == set()


def test_odd_shapes_take_the_careful_path_with_the_same_result() -> None:
    eng = DetectionEngine.load([], include_builtin=True)
    good = golden("proc_creation_lnx_aurora_reverse_shell")["positive"][0]
    want = [r.id for r in eng.match_rules(good)]
    assert want
    m = eng.matcher(eng.mapping.route_of(good))
    odd = json.loads(json.dumps(good))
    odd["process"]["cmd_line"] = [good["process"]["cmd_line"], "other"]  # a list value
    odd["actor"] = "not an object"
    assert m.key(odd) == m.generic_key(odd)
    assert [r.id for r in eng.match_rules(odd)] == want


def test_unguarded_regex_with_a_short_literal_still_decides() -> None:
    eng = engine(rule("    s:\n        CommandLine|re: '\\w+`\\w+'\n    condition: s"))
    assert fired(eng, sysmon(CommandLine="po`wershell")) != []
    assert fired(eng, sysmon(CommandLine="powershell")) == []


def linux_exec(cmd: str, user: str, cwd: str = "/home/bob") -> dict[str, Any]:
    return {
        "class_uid": 1007,
        "activity_id": 1,
        "device": {"os": {"type_id": 200}},
        "process": {
            "cmd_line": cmd,
            "file": {"path": "/usr/bin/" + cmd.split()[0]},
            "user": {"name": user},
            "working_directory": cwd,
        },
    }


LINUX_EXEC = "product: linux\n    category: process_creation"


def test_paths_no_rule_is_gated_by_are_read_only_for_candidates() -> None:
    both = rule(
        "    s:\n        CommandLine|contains: 'evil'\n        User: 'root'\n    condition: s",
        logsource=LINUX_EXEC,
    )
    image = rule(
        "    s:\n        Image|endswith: '/nc'\n    condition: s",
        logsource=LINUX_EXEC,
        rid="00000000-0000-0000-0000-000000000002",
    )
    eng = engine(both, image)
    m = eng.matcher(eng.mapping.route_of(linux_exec("ls", "bob")))
    assert "process.user.name" not in {fi.path for fi in m.gate_fields}
    assert "process.user.name" in {fi.path for fi in m._fields}
    cases = [
        (linux_exec("evil x", "root"), ["00000000-0000-0000-0000-000000000001"]),
        (linux_exec("evil x", "bob"), []),  # a candidate, ruled out by the other path
        (linux_exec("ls", "root"), []),  # no gate hit: the user is never read
        (
            linux_exec("nc evil", "root"),
            ["00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"],
        ),
    ]
    cold = DetectionEngine(eng.rules, eng.errors, eng.config, value_cache=0)
    for ev, want in cases * 2:
        assert fired(eng, ev) == want
        assert fired(cold, ev) == want
        assert eng.matcher(eng.mapping.route_of(ev)).literal_hits(ev) == (
            eng.matcher(eng.mapping.route_of(ev)).generic_hits(ev)
        )


def test_linux_keywords_search_commands_and_paths_not_user_names() -> None:
    eng = engine(
        rule(
            "    keywords:\n        - 'mallory'\n    condition: keywords",
            logsource="product: linux",
        )
    )
    assert fired(eng, linux_exec("ssh mallory@host", "bob")) != []
    assert fired(eng, linux_exec("ls", "bob", cwd="/home/mallory")) == []
    assert fired(eng, linux_exec("ls", "mallory")) == []
