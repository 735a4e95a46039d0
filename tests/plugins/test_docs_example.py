"""The minimal plugin in docs/plugins.md, run exactly as written against a real plugin host."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.agent.helpers import wait_until

from .helpers import drain, manifest_for, running_host

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def _example() -> str:
    text = DOC.read_text()
    m = re.search(r"<!-- example: hello_plugin -->\n```python\n(.*?)\n```", text, re.S)
    assert m, "docs/plugins.md lost its example"
    return m.group(1) + "\n"


def test_the_documented_plugin_runs(tmp_path: Path) -> None:
    script = tmp_path / "hello_plugin.py"
    script.write_text(_example())
    with running_host(manifest_for("hello")) as host:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(host.socket_path)],
            stderr=subprocess.PIPE,
        )
        try:
            got = drain(host, 3)
            assert [e["user"]["name"] for e in got] == ["alice", "bob", "carol"]
            assert {e["metadata"]["product"]["name"] for e in got} == {"hello"}
            assert host.connected() == ["hello"]
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err.decode()
        wait_until(lambda: host.connected() == [], 5, "the plugin to leave")
        assert not host.stats.refused and not host.stats.lost
