"""Validate OCSF event dicts against the OCSF schema source (the JSON files, not a compiled export).

Written here rather than taken from a library because the published validators need the OCSF
server's compiled schema; this reads the raw source tree (``dictionary.json``, ``objects/``,
``events/``, ``profiles/``), resolves ``extends`` and ``$include`` and checks an event's shape:
every attribute exists for its class or object, has the right type, enum values are known and
required attributes are present. Extensions (``extensions/``) are not loaded.

Usage::

    schema = OcsfSchema.load(Path("../shared/data/ocsf-schema-1.8.0"))
    problems = schema.validate(event)      # [] when the event is valid
    schema.check(event)                    # raises OcsfValidationError
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from aurora.errors import AuroraError

Attrs = dict[str, dict[str, Any]]

# base_event declares these with placeholder enums; validate() checks them against the class.
_CHECKED_APART = frozenset({"class_uid", "category_uid", "type_uid"})


class OcsfValidationError(AuroraError):
    """An event does not conform to the schema; the message lists the first problems."""


@dataclass
class _Def:
    """A class or object before inheritance is resolved."""

    name: str
    extends: str | None
    attributes: Attrs
    uid: int | None = None
    category: str | None = None


@dataclass
class OcsfSchema:
    """The resolved schema: attribute types, objects and event classes with inherited attributes."""

    version: str
    dictionary: Attrs
    types: Attrs
    objects: dict[str, Attrs] = field(default_factory=dict)
    classes: dict[int, Attrs] = field(default_factory=dict)
    class_names: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> OcsfSchema:
        """Read and resolve the schema source tree at ``root``."""
        if not (root / "dictionary.json").is_file():
            raise AuroraError(f"no OCSF schema at {root}: dictionary.json is missing")
        dictionary = _read(root / "dictionary.json")
        version_file = root / "version.json"
        version = str(_read(version_file).get("version", "")) if version_file.is_file() else ""
        categories = {
            name: int(c["uid"]) for name, c in _read(root / "categories.json")["attributes"].items()
        }
        schema = cls(
            version=version,
            dictionary=dictionary["attributes"],
            types=dictionary["types"]["attributes"],
        )
        objects = {d.name: d for d in (_load_def(root, p) for p in root.glob("objects/*.json"))}
        for name in objects:
            schema.objects[name] = schema._with_dictionary(_resolve(name, objects))
        events = {d.name: d for d in (_load_def(root, p) for p in root.glob("events/**/*.json"))}
        for name, d in events.items():
            if d.uid is None:
                continue
            category = _category_of(name, events)
            if category not in categories:
                continue
            class_uid = categories[category] * 1000 + d.uid
            schema.classes[class_uid] = schema._with_dictionary(_resolve(name, events))
            schema.class_names[class_uid] = name
        return schema

    def _with_dictionary(self, attrs: Attrs) -> Attrs:
        """A class's attribute specs on top of the dictionary's (type, is_array, enum)."""
        return {name: _merge(self.dictionary.get(name, {}), spec) for name, spec in attrs.items()}

    def check(self, event: dict[str, Any]) -> None:
        """Raise :class:`OcsfValidationError` when ``event`` has any problem."""
        problems = self.validate(event)
        if problems:
            more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
            raise OcsfValidationError("invalid OCSF event: " + "; ".join(problems[:3]) + more)

    def validate(self, event: dict[str, Any]) -> list[str]:
        """All problems found in ``event``, as ``path: what`` strings; empty when valid."""
        class_uid = event.get("class_uid")
        if not isinstance(class_uid, int) or class_uid not in self.classes:
            return [f"class_uid: unknown event class {class_uid!r}"]
        problems: list[str] = []
        self._check_attrs(event, self.classes[class_uid], "", problems)
        activity = event.get("activity_id")
        if isinstance(activity, int) and event.get("type_uid") != class_uid * 100 + activity:
            problems.append(f"type_uid: expected {class_uid * 100 + activity}")
        category = event.get("category_uid")
        if isinstance(category, int) and category != class_uid // 1000:
            problems.append(f"category_uid: expected {class_uid // 1000}")
        return problems

    def _check_attrs(self, obj: dict[str, Any], attrs: Attrs, path: str, out: list[str]) -> None:
        profiles = set(obj.get("metadata", {}).get("profiles") or []) if not path else set()
        for name, spec in attrs.items():
            gated = spec.get("profile") and spec["profile"] not in profiles
            if spec.get("requirement") == "required" and not gated and obj.get(name) is None:
                out.append(f"{path}{name}: required attribute is missing")
        for name, value in obj.items():
            where = f"{path}{name}"
            found = attrs.get(name)
            if found is None:
                out.append(f"{where}: not an attribute of this class/object")
                continue
            if value is None:
                continue
            spec = found
            if spec.get("is_array"):
                if not isinstance(value, list):
                    out.append(f"{where}: expected an array")
                    continue
                for i, item in enumerate(value):
                    self._check_value(item, spec, f"{where}[{i}]", out)
            else:
                self._check_value(value, spec, where, out)

    def _check_value(self, value: Any, spec: dict[str, Any], where: str, out: list[str]) -> None:
        type_name = str(spec.get("type", "string_t"))
        if type_name == "object":  # free-form (e.g. unmapped)
            if not isinstance(value, dict):
                out.append(f"{where}: expected an object")
            return
        if type_name in self.objects:
            if not isinstance(value, dict):
                out.append(f"{where}: expected a {type_name} object")
                return
            self._check_attrs(value, self.objects[type_name], where + ".", out)
            return
        problem = self._scalar_problem(value, type_name)
        if problem:
            out.append(f"{where}: {problem}")
            return
        enum = spec.get("enum")
        if (
            enum
            and where not in _CHECKED_APART
            and isinstance(value, int | str)
            and str(value) not in enum
        ):
            out.append(f"{where}: {value!r} is not one of {sorted(enum)}")

    def _scalar_problem(self, value: Any, type_name: str) -> str | None:
        base = self._base_type(type_name)
        if base == "json_t":
            return None
        if base == "boolean_t":
            return None if isinstance(value, bool) else "expected a boolean"
        if base in ("integer_t", "long_t"):
            if isinstance(value, bool) or not isinstance(value, int):
                return f"expected an integer ({type_name})"
            rng = self.types.get(type_name, {}).get("range")
            if rng and not rng[0] <= value <= rng[1]:
                return f"{value} out of range {rng}"
            return None
        if base == "float_t":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            return None if ok else "expected a number"
        if not isinstance(value, str):
            return f"expected a string ({type_name})"
        if type_name == "ip_t":
            try:
                ipaddress.ip_address(value)
            except ValueError:
                return f"{value!r} is not an IP address"
        return None

    def _base_type(self, type_name: str) -> str:
        seen = 0
        while seen < 8:
            parent = self.types.get(type_name, {}).get("type")
            if not parent:
                return type_name
            type_name = str(parent)
            seen += 1
        return type_name


def _read(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def _load_def(root: Path, path: Path) -> _Def:
    raw = _read(path)
    attrs: Attrs = {}
    for include in raw.get("attributes", {}).get("$include", []):
        profile = _read(root / include)
        for name, spec in profile.get("attributes", {}).items():
            # Attributes a profile adds are only required when an event applies the profile.
            attrs[name] = {**spec, "profile": profile.get("name")}
    for name, spec in raw.get("attributes", {}).items():
        if name != "$include":
            attrs[name] = _merge(attrs.get(name, {}), spec)
    uid = raw.get("uid")
    return _Def(
        name=raw["name"],
        extends=raw.get("extends"),
        attributes=attrs,
        uid=int(uid) if uid is not None else None,
        category=raw.get("category"),
    )


def _category_of(name: str, defs: dict[str, _Def]) -> str | None:
    d: _Def | None = defs.get(name)
    while d is not None:
        if d.category:
            return d.category
        d = defs.get(d.extends) if d.extends else None
    return None


def _resolve(name: str, defs: dict[str, _Def]) -> Attrs:
    """Attributes of ``name`` with those of its ancestors, each overlaid by the child's."""
    chain: list[_Def] = []
    d = defs.get(name)
    while d is not None and len(chain) < 16:
        chain.append(d)
        d = defs.get(d.extends) if d.extends else None
    merged: Attrs = {}
    for item in reversed(chain):
        for attr, spec in item.attributes.items():
            merged[attr] = _merge(merged.get(attr, {}), spec)
    return merged


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Overlay one attribute spec on another; enums add up, as the OCSF server merges them."""
    merged = {**base, **over}
    if isinstance(base.get("enum"), dict) and isinstance(over.get("enum"), dict):
        merged["enum"] = {**base["enum"], **over["enum"]}
    return merged


@cache
def load_schema(root: str) -> OcsfSchema:
    """Cached :meth:`OcsfSchema.load`, for tests that validate many events."""
    return OcsfSchema.load(Path(root))
