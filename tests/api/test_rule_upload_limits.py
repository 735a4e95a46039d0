"""Issue 18: hostile rule uploads through the real console API over HTTPS. An alias bomb, a
deeply nested document and an oversized one are each refused quickly with a one-line reason;
the server keeps serving and a good rule still uploads afterwards."""

from __future__ import annotations

import time

import httpx

from api.apienv import Env

HEAD = """title: Hostile upload
id: 6c1a1d38-0000-4000-8000-0000000bad01
status: test
logsource: {product: linux, category: process_creation}
"""
TAIL = """detection:
  selection:
    CommandLine|contains: ' -l'
  condition: selection
level: high
"""
GOOD = HEAD.replace("bad01", "00d01").replace("Hostile", "Good") + TAIL


def alias_bomb() -> str:
    """Nine levels of ten aliases each: 10^9 strings once expanded, 600 bytes as written."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    bomb = TAIL.replace("' -l'", "*l8")
    return HEAD + "\n".join(lines) + "\n" + bomb


def deep_nesting(levels: int = 40_000) -> str:
    """80 KB of nested flow sequences: libyaml's composer recursed until the process crashed."""
    return HEAD + "tags: " + "[" * levels + "]" * levels + "\n" + TAIL


def refused(client: httpx.Client, text: str, status: int) -> str:
    start = time.monotonic()
    r = client.post("/api/v1/rules", json={"yaml": text})
    took = time.monotonic() - start
    assert r.status_code == status, r.text
    assert took < 1.0, f"refusing took {took:.2f} s"
    detail = r.json()["detail"]
    message = detail if isinstance(detail, str) else "; ".join(detail["errors"])
    assert "\n" not in message
    return message


def test_alias_bomb_is_refused_quickly(env: Env) -> None:
    admin = env.client("admin")
    message = refused(admin, alias_bomb(), 422)
    assert "alias" in message.lower()
    assert admin.post("/api/v1/rules", json={"yaml": GOOD}).status_code == 201


def test_deeply_nested_yaml_is_refused_and_the_server_lives(env: Env) -> None:
    admin = env.client("admin")
    message = refused(admin, deep_nesting(), 422)
    assert "nests deeper than" in message
    assert admin.get("/api/v1/rules").status_code == 200
    assert admin.post("/api/v1/rules", json={"yaml": GOOD}).status_code == 201


def test_oversized_rule_is_refused_quickly(env: Env) -> None:
    admin = env.client("admin")
    huge = HEAD + "description: '" + "x" * (2 << 20) + "'\n" + TAIL
    message = refused(admin, huge, 413)
    assert "larger than" in message
    assert admin.post("/api/v1/rules", json={"yaml": GOOD}).status_code == 201
