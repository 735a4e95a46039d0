"""Generate, per route, the function that collects literal hits from an event.

The generic loop calls one accessor per field and re-walks shared prefixes (``process`` for both
``process.file.path`` and ``process.cmd_line``). The generated function walks each prefix once,
keeps intermediate dicts in locals and inlines the per-value cache lookup, which roughly halves
the per-event cost on the hot path. Its behaviour is the generic loop's (a test checks that).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol


class FieldLike(Protocol):
    path: str
    cache: dict[str, tuple[int, ...]]
    present: int | None
    get: Callable[[dict[str, Any]], Any]


HitsFn = Callable[[dict[str, Any]], set[int]]


def compile_hits(
    fields: Sequence[FieldLike],
    scan: Callable[[Any, str], tuple[int, ...]],
    slow: Callable[[Any, Any, set[int]], None],
    virtual: str,
    virtual_paths: Sequence[str] | None = None,
    flatten: Callable[[Any, list[str]], None] | None = None,
) -> HitsFn:
    """``scan(field, text)`` indexes one string; ``slow(field, value, t)`` handles non-strings.

    Fields whose path is ``virtual`` are read through their own ``get`` (computed values), or,
    when ``virtual_paths`` is given, built inline as the newline-joined text of those paths
    (non-strings through ``flatten``), sharing the lookups of the real fields.
    """
    env: dict[str, Any] = {"SCAN": scan, "SLOW": slow, "FLAT": flatten}
    lines = ["def hits(ev):", "    t = set()", "    add = t.add", "    update = t.update"]
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
            lines.append(f"    {var} = ev.get({key!r})")
        else:
            lines.append(f"    {var} = {pvar}.get({key!r}) if {pvar}.__class__ is dict else None")
        return var

    def access(path: str) -> str:
        parent, _, key = path.rpartition(".")
        pvar = node(parent)
        if pvar == "ev":
            return f"ev.get({key!r})"
        return f"{pvar}.get({key!r}) if {pvar}.__class__ is dict else None"

    for i, fi in enumerate(fields):
        env[f"F{i}"] = fi
        env[f"C{i}"] = fi.cache
        if fi.path == virtual and virtual_paths is not None:
            lines.append("    kw = []")
            for vp in virtual_paths:
                lines.append(f"    v = {access(vp)}")
                lines += [
                    "    if v.__class__ is str:",
                    "        kw.append(v)",
                    "    elif v is not None:",
                    "        FLAT(v, kw)",
                ]
            lines.append("    v = '\\n'.join(kw)")
        elif fi.path == virtual:
            env[f"G{i}"] = fi.get
            lines.append(f"    v = G{i}(ev)")
        else:
            parent, _, key = fi.path.rpartition(".")
            pvar = node(parent)
            if pvar == "ev":
                lines.append(f"    v = ev.get({key!r})")
            else:
                lines.append(f"    v = {pvar}.get({key!r}) if {pvar}.__class__ is dict else None")
        lines.append("    if v is not None:")
        if fi.present is not None:
            lines.append(f"        add({fi.present})")
        lines += [
            "        if v.__class__ is str:",
            f"            h = C{i}.get(v)",
            "            if h is None:",
            f"                h = SCAN(F{i}, v)",
            "            if h:",
            "                update(h)",
            "        else:",
            f"            SLOW(F{i}, v, t)",
        ]
    lines.append("    return t")
    exec("\n".join(lines), env)
    fn: HitsFn = env["hits"]
    return fn
