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
    generic_key: KeyFn,
    escalate: tuple[Plan, KeyFn, dict[Key, Plan], Callable[[Key], Plan]] | None = None,
) -> tuple[MatchFn, KeyFn]:
    """``(match, key)`` for one route. Fields whose path is in ``virtual`` are computed by the
    given slot function (keyword texts) instead of read from the event. An event with a
    non-dict where the route expects an object (``"process": "x"``) makes a step raise
    AttributeError, a list value TypeError; such events take ``generic_key``, which reads
    paths the slow, careful way (and gives the same key).

    With ``escalate = (marker, rest, plans2, make_plan2)``, an event whose plan is ``marker``
    has its key extended by ``rest(ev)`` (the key over the remaining paths), and that longer
    key is looked up in ``plans2`` instead.
    """
    env: dict[str, Any] = {
        "E": EMPTY,
        "ED": {},
        "PLANS": plans,
        "PLAN": make_plan,
        "GENERIC": generic_key,
    }
    body: list[str] = []
    names: dict[str, str] = {"": "ev"}

    def node(prefix: str) -> str:
        """Local variable holding the dict at ``prefix`` (or an empty one), fetched once."""
        if prefix in names:
            return names[prefix]
        parent, _, key = prefix.rpartition(".")
        pvar = node(parent)
        var = f"n{len(names)}"
        names[prefix] = var
        # `or ED`: a missing, null or empty object reads as empty; any other non-dict has no
        # .get and raises
        body.append(f"        {var} = {pvar}.get({key!r}) or ED")
        return var

    slots: list[str] = []
    for i, fi in enumerate(fields):
        s = f"s{i}"
        slots.append(s)
        if fi.path in virtual:
            env[f"K{i}"] = virtual[fi.path]
            body.append(f"        {s} = K{i}(ev)")
            continue
        # The cache is cleared in place, so its bound .get stays valid. It holds strings and
        # None only: any other value misses (a list raises TypeError: unhashable) and takes
        # the field's general reading.
        env[f"C{i}"] = fi.cache.get
        env[f"V{i}"] = fi.value
        parent, _, key = fi.path.rpartition(".")
        body += [
            f"        v = {node(parent)}.get({key!r})",
            f"        {s} = C{i}(v)",
            f"        if {s} is None:",
            f"            {s} = V{i}(v)",
        ]
    if not body:
        body.append("        pass")
    tup = "(" + "".join(f"{s}, " for s in slots) + ")"
    guarded = ["    try:", *body, "    except (AttributeError, TypeError):"]
    src = ["def key(ev):", *guarded, "        return GENERIC(ev)", f"    return {tup}", ""]
    src += [
        "def match(ev):",
        *guarded,
        "        k = GENERIC(ev)",
        "    else:",
        f"        k = {tup}",
    ]
    src += [
        "    p = PLANS.get(k)",
        "    if p is None:",
        "        p = PLAN(k)",
    ]
    if escalate is not None:
        env["ESCALATE"], env["REST"], env["PLANS2"], env["PLAN2"] = escalate
        src += [
            "    if p is ESCALATE:",
            "        k = k + REST(ev)",
            "        p = PLANS2.get(k)",
            "        if p is None:",
            "            p = PLAN2(k)",
        ]
    src += [
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
