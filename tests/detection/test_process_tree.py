"""The process-tree root that keys alert suppression, on events shaped as the Linux sensor emits."""

from __future__ import annotations

from typing import Any

from aurora.detection.process_tree import tree_root


def entity(pid: int, name: str) -> dict[str, Any]:
    return {"pid": pid, "uid": f"h-{pid}", "name": name, "path": f"/usr/bin/{name}"}


def exec_event(ancestry: list[dict[str, Any]], session: str | None = None) -> dict[str, Any]:
    proc: dict[str, Any] = {"pid": 900, "name": "evil", "ancestry": ancestry}
    if session is not None:
        proc["session"] = {"uid": session, "terminal": "pts/0"}
    return {"class_uid": 1007, "process": proc}


SSH_LOGIN = [entity(700, "bash"), entity(650, "sshd"), entity(600, "sshd"), entity(1, "systemd")]


def test_the_login_session_names_the_tree() -> None:
    assert tree_root(exec_event(SSH_LOGIN, session="7")) == "session:7"


def test_the_unset_session_falls_back_to_ancestry() -> None:
    # 4294967295 is how the kernel says "no audit session" (services, cron jobs).
    assert tree_root(exec_event(SSH_LOGIN, session="4294967295")) == "process:h-700"


def test_the_topmost_ancestor_below_the_system_plumbing_is_the_root() -> None:
    cron_job = [entity(810, "python3"), entity(800, "sh"), entity(790, "cron"), entity(1, "init")]
    assert tree_root(exec_event(cron_job)) == "process:h-800"


def test_two_trees_on_one_host_differ_and_one_tree_agrees_with_itself() -> None:
    first = [entity(800, "sh"), entity(790, "cron"), entity(1, "systemd")]
    second = [entity(950, "sh"), entity(940, "cron"), entity(1, "systemd")]
    deeper_in_first = [entity(805, "curl"), *first]
    assert tree_root(exec_event(first)) != tree_root(exec_event(second))
    assert tree_root(exec_event(first)) == tree_root(exec_event(deeper_in_first))


def test_the_actor_process_names_the_tree_of_a_file_event() -> None:
    event = {"class_uid": 1001, "actor": {"process": exec_event(SSH_LOGIN)["process"]}}
    assert tree_root(event) == "process:h-700"


def test_no_ancestry_and_no_session_keeps_the_host_wide_merge() -> None:
    assert tree_root({"class_uid": 1007, "process": {"pid": 5, "name": "x"}}) == ""
    assert tree_root({"class_uid": 4001}) == ""
    # Only system plumbing above: nothing to name.
    assert tree_root(exec_event([entity(1, "systemd")]) | {"process": entity(2, "kthreadd")}) == ""
