"""The launcher with real child processes: it recovers a trial it did not see end, and restarts a
confirmed version that crashes (a service manager's job), without touching `current`."""

from __future__ import annotations

import threading
from pathlib import Path

from aurora.sensor.update.launcher import Launcher
from aurora.sensor.update.layout import BASE, Outcome, Pending, Releases


def run(launcher: Launcher, timeout: float = 60) -> int | None:
    box: list[int] = []
    thread = threading.Thread(target=lambda: box.append(launcher.run()), daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        launcher.stop()
        thread.join(30)
        raise AssertionError("the launcher did not finish")
    return box[0] if box else None


def test_a_trial_interrupted_by_the_launchers_own_restart_is_rolled_back(tmp_path: Path) -> None:
    releases = Releases(tmp_path)
    releases.ensure()
    (releases.version_dir("2.0.0") / "lib").mkdir(parents=True)
    releases.switch("2.0.0")
    releases.write(Pending("c9", "2.0.0", "1.0.0", BASE, 0.0, 120.0))
    ran = tmp_path / "ran-from"
    child = ["-c", f"import os; open({str(ran)!r}, 'w').write(os.environ.get('PYTHONPATH', ''))"]
    assert run(Launcher(tmp_path, child)) == 0
    assert releases.current_version() == BASE
    outcome = releases.read(Outcome)
    assert outcome is not None and (outcome.command_id, outcome.status) == ("c9", "rolled_back")
    assert "restarted while the update was on trial" in outcome.reason
    assert "2.0.0" not in ran.read_text()  # the previous version ran, not the trial one


def test_a_confirmed_version_that_crashes_is_restarted_in_place(tmp_path: Path) -> None:
    releases = Releases(tmp_path)
    releases.ensure()
    (releases.version_dir("2.0.0") / "lib").mkdir(parents=True)
    releases.switch("2.0.0")
    count = tmp_path / "runs"
    script = (
        "import os, sys\n"
        f"p = {str(count)!r}\n"
        "n = int(open(p).read()) + 1 if os.path.exists(p) else 1\n"
        "open(p, 'w').write(str(n))\n"
        "assert '2.0.0' in os.environ['PYTHONPATH']\n"
        "sys.exit(3 if n == 1 else 0)\n"
    )
    assert run(Launcher(tmp_path, ["-c", script])) == 0
    assert count.read_text() == "2" and releases.current_version() == "2.0.0"
    assert releases.read(Outcome) is None
