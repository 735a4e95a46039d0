"""`aurora rules check` (a real process) on hostile rule files: each is refused on one line,
quickly, the good rules still compile, and a regex RE2 cannot run is warned about."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AURORA = Path(sys.executable).with_name("aurora")


def rule(n: int, body: str, selection: str = "CommandLine|contains: ' -l'") -> str:
    return f"""title: rule {n}
id: 6c1a1d38-0000-4000-8000-00000000000{n}
status: test
logsource: {{product: linux, category: process_creation}}
{body}detection:
  selection:
    {selection}
  condition: selection
level: high
"""


def test_rules_check_refuses_hostile_files_and_warns_about_fallback(tmp_path: Path) -> None:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    bomb = rule(1, "\n".join(lines) + "\n", "CommandLine|contains: *l8")
    deep = rule(2, "tags: " + "[" * 40_000 + "]" * 40_000 + "\n")
    huge = rule(3, "description: '" + "x" * (17 << 20) + "'\n")
    files = {
        "bomb.yml": bomb,
        "deep.yml": deep,
        "huge.yml": huge,
        "good.yml": rule(4, ""),
        "lookahead.yml": rule(5, "", "CommandLine|re: 'nc(?= -l)'"),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    start = time.monotonic()
    proc = subprocess.run(
        [AURORA, "rules", "check", tmp_path],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        check=False,
    )
    took = time.monotonic() - start
    assert proc.returncode == 1, proc.stderr  # failures
    out = proc.stdout.splitlines()
    assert len(out) == 4, proc.stdout[:2000]
    by_file = {name: [x for x in out if name in x] for name in files}
    assert "alias" in by_file["bomb.yml"][0].lower()
    assert "nests deeper than" in by_file["deep.yml"][0]
    assert "over the" in by_file["huge.yml"][0]
    assert by_file["good.yml"] == []
    (warning,) = by_file["lookahead.yml"]
    assert "warning" in warning and "CommandLine" in warning and "(?=" in warning
    assert "2 of 5 rules compiled, 3 failed, 1 with regexes RE2 cannot run" in proc.stderr
    assert took < 15, f"rules check took {took:.1f} s"
