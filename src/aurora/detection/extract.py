"""Generate, per route, the one Python function that matches an event.

An event's outcome depends on its field values only through the literal ids each value hits.
The generated function walks every indexed path once (shared prefixes such as ``process`` are
fetched once and kept in locals), looks each value up in its field's value cache (a C-level dict
lookup; a scan only for a value not seen before), builds the event's *key* (the tuple of those
per-field answers) and looks the key up in the plan cache: the rules that match on literals
alone, and the few rules still to run on the event (field references, timestamps...). So a
typical event costs one dict lookup per field plus one for the plan, and no per-event sets.
The generic reference is :meth:`aurora.detection.matcher.RouteMatcher.generic_hits` (a test
checks both agree).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aurora.detection.index import EMPTY, FieldIndex, Slot

Key = tuple[frozenset[int], ...]
Plan = tuple[tuple[Any, ...], tuple[tuple[Callable[..., bool], Any], ...], frozenset[int]]
MatchFn = Callable[[dict[str, Any]], list[Any]]
KeyFn = Callable[[dict[str, Any]], Key]


def compile_route(
    fields: Sequence[FieldIndex],
    virtual: dict[str, Slot],
    plans: dict[Key, Plan],
    make_plan: Callable[[Key], Plan],
) -> tuple[MatchFn, KeyFn]:
    """``(match, key)`` for one route. Fields whose path is in ``virtual`` are computed by the
    given slot function (keyword texts) instead of read from the event."""
    env: dict[str, Any] = {"E": EMPTY, "PLANS": plans, "PLAN": make_plan}
    body: list[str] = []
    names: dict[str, str] = {"": "ev"}

    def node(prefix: str) -> str:
        """Local variable holding the dict at ``prefix`` (or None), emitting its lookup once."""
        if prefix in names:
            return names[prefix]
        parent, _, key = prefix.rpartition(".")
        pvar = node(parent)
        var = f"n{len(names)}"
        names[prefix] = var
        if pvar == "ev":
            body.append(f"    {var} = ev.get({key!r})")
        else:
            body.append(f"    {var} = {pvar}.get({key!r}) if {pvar}.__class__ is dict else None")
        return var

    slots: list[str] = []
    for i, fi in enumerate(fields):
        s = f"s{i}"
        slots.append(s)
        if fi.path in virtual:
            env[f"K{i}"] = virtual[fi.path]
            body.append(f"    {s} = K{i}(ev)")
            continue
        env[f"C{i}"] = fi.cache.get  # the cache is cleared in place, so this stays valid
        env[f"S{i}"] = fi.scan
        env[f"V{i}"] = fi.scan_value
        parent, _, key = fi.path.rpartition(".")
        pvar = node(parent)
        if pvar == "ev":
            body.append(f"    v = ev.get({key!r})")
        else:
            body.append(f"    v = {pvar}.get({key!r}) if {pvar}.__class__ is dict else None")
        body += [
            "    if v is None:",
            f"        {s} = E",
            "    elif v.__class__ is str:",
            f"        {s} = C{i}(v)",
            f"        if {s} is None:",
            f"            {s} = S{i}(v)",
            "    else:",
            f"        {s} = V{i}(v)",
        ]
    key = "(" + "".join(f"{s}, " for s in slots) + ")"
    src = ["def key(ev):", *body, f"    return {key}", "", "def match(ev):", *body]
    src += [
        f"    k = {key}",
        "    p = PLANS.get(k)",
        "    if p is None:",
        "        p = PLAN(k)",
        "    matched, todo, t = p",
        "    if not todo:",
        "        return [*matched]",
        "    out = [*matched]",
        "    for fn, rule in todo:",
        "        if fn(t, ev):",
        "            out.append(rule)",
        "    return out",
    ]
    exec("\n".join(src), env)
    return env["match"], env["key"]
