"""Sigma logsource -> OCSF routes and field paths, loaded from ``mappings/ocsf.yml``.

The mapping is data (see the YAML's header), shared by the normalisers (which fill the paths) and
the detection engine (which reads them), so it lives with OCSF rather than with either of them.
This module validates it once at load and answers two questions fast: which logsources does an
OCSF event belong to (its *route*), and which OCSF path does a Sigma field name resolve to there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aurora.errors import AuroraError

MAPPING_FILE = Path(__file__).with_name("mappings") / "ocsf.yml"
SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"


class MappingError(AuroraError):
    """The field-mapping data file is malformed."""


@dataclass(frozen=True)
class Category:
    """One Sigma category on one product, with its OCSF class and field paths."""

    product: str
    name: str
    class_uid: int
    activity_id: int
    fields: dict[str, tuple[str, ...]]
    channel: str | None = None
    event_ids: tuple[int, ...] = ()
    activity_ids: tuple[int, ...] = ()  # Linux: every activity routed here (default: activity_id)
    raw_fields: dict[str, str] = field(default_factory=dict)  # Sigma field -> raw record field

    def raw_name(self, sigma_field: str) -> str:
        """The raw record field that carries ``sigma_field`` (Security 4688: NewProcessName)."""
        return self.raw_fields.get(sigma_field, sigma_field)

    def path(self, sigma_field: str) -> str:
        paths = self.fields.get(sigma_field)
        return paths[0] if paths else "unmapped." + sigma_field


@dataclass(frozen=True)
class Route:
    """What one kind of event is, for routing: its logsources and the category that names fields.

    ``key`` identifies the route; events with equal keys share one compiled rule set.
    """

    key: tuple[Any, ...]
    product: str
    categories: tuple[str, ...]
    services: tuple[str, ...]
    primary: Category | None
    # Linux: the route's other categories (one OCSF class and activity can carry several, e.g.
    # Kernel Activity Create: BPF loads, namespaces, io_uring rings); a field the primary does
    # not name is looked up in them, in file order.
    others: tuple[Category, ...] = ()

    def path(self, sigma_field: str) -> str:
        if self.primary is None:
            return "unmapped." + sigma_field
        if sigma_field in self.primary.fields or not self.others:
            return self.primary.path(sigma_field)
        for other in self.others:
            if sigma_field in other.fields:
                return other.path(sigma_field)
        return "unmapped." + sigma_field

    def accepts(self, logsource: dict[str, str | None]) -> bool:
        """Does a rule with this Sigma logsource apply to events of this route?"""
        product = logsource.get("product")
        if product is not None and product != self.product:
            return False
        category = logsource.get("category")
        if category is not None and category not in self.categories:
            return False
        service = logsource.get("service")
        if service is not None and service not in self.services:
            return False
        return product is not None or category is not None or service is not None


@dataclass
class FieldMapping:
    """The parsed mapping file."""

    windows_services: dict[str, tuple[str, ...]]
    windows_categories: list[Category]
    linux_categories: list[Category]
    _channel_services: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _routes: dict[tuple[Any, ...], Route] = field(default_factory=dict)
    _raw_routes: dict[tuple[Any, Any], Route] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_channel: dict[str, list[str]] = {}
        for service, channels in self.windows_services.items():
            for channel in channels:
                by_channel.setdefault(channel.lower(), []).append(service)
        self._channel_services = {k: tuple(v) for k, v in by_channel.items()}

    def windows_route(self, channel: str, event_id: int) -> Route:
        key = ("windows", channel.lower(), event_id)
        route = self._routes.get(key)
        if route is None:
            cats = [
                c
                for c in self.windows_categories
                if c.channel is not None and c.channel.lower() == key[1] and event_id in c.event_ids
            ]
            route = Route(
                key=key,
                product="windows",
                categories=tuple(c.name for c in cats),
                services=self._channel_services.get(key[1], ()),
                primary=cats[0] if cats else None,
            )
            self._routes[key] = route
        return route

    def linux_route(self, class_uid: int, activity_id: int) -> Route:
        key = ("linux", class_uid, activity_id)
        route = self._routes.get(key)
        if route is None:
            cats = [
                c
                for c in self.linux_categories
                if c.class_uid == class_uid and activity_id in c.activity_ids
            ]
            route = Route(
                key=key,
                product="linux",
                categories=tuple(c.name for c in cats),
                services=(),
                primary=cats[0] if cats else None,
                others=tuple(cats[1:]),
            )
            self._routes[key] = route
        return route

    def route_of(self, event: dict[str, Any]) -> Route:
        """The route of one OCSF event: Windows records by channel and event id, else by class."""
        unmapped = event.get("unmapped")
        if unmapped.__class__ is dict:
            channel = unmapped.get("Channel")
            if channel is not None:
                raw_key = (channel, unmapped.get("EventID"))
                try:
                    route = self._raw_routes.get(raw_key)
                except TypeError:  # an unhashable EventID: no cache, and no event id either
                    return self.windows_route(str(channel), 0)
                if route is None:
                    try:
                        eid = int(raw_key[1] or 0)
                    except (TypeError, ValueError):
                        eid = 0
                    route = self.windows_route(str(channel), eid)
                    if len(self._raw_routes) < 65536:  # bounded: keys come from event data
                        self._raw_routes[raw_key] = route
                return route
        key = (event.get("class_uid"), event.get("activity_id"))
        try:
            route = self._raw_routes.get(key)
        except TypeError:
            return self.linux_route(0, 0)
        if route is None:
            try:
                route = self.linux_route(int(key[0] or 0), int(key[1] or 0))
            except (TypeError, ValueError):
                route = self.linux_route(0, 0)
            if len(self._raw_routes) < 65536:
                self._raw_routes[key] = route
        return route

    def known_logsource(self, logsource: dict[str, str | None]) -> bool:
        """Can any event we normalise ever reach a rule with this logsource?"""
        product = logsource.get("product")
        category = logsource.get("category")
        service = logsource.get("service")
        if product not in (None, "windows", "linux"):
            return False
        if service is not None:
            return product in (None, "windows") and service in self.windows_services
        cats = {c.name for c in self.windows_categories if product in (None, "windows")}
        cats |= {c.name for c in self.linux_categories if product in (None, "linux")}
        return category is None or category in cats

    def categories(self, product: str) -> list[Category]:
        return self.windows_categories if product == "windows" else self.linux_categories


def _paths(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise MappingError(f"{where}: a field maps to a path or a list of paths, got {value!r}")


def _category(product: str, name: str, spec: Any) -> Category:
    where = f"field mapping {product}.categories.{name}"
    if not isinstance(spec, dict) or not isinstance(spec.get("ocsf"), dict):
        raise MappingError(f"{where}: needs an `ocsf` table")
    fields_spec = spec.get("fields") or {}
    if not isinstance(fields_spec, dict):
        raise MappingError(f"{where}: `fields` must be a table")
    fields = {str(k): _paths(v, f"{where}.{k}") for k, v in fields_spec.items()}
    seen: dict[str, str] = {}
    for sigma_field, paths in fields.items():
        for p in paths:
            if p in seen:
                raise MappingError(f"{where}: {sigma_field} and {seen[p]} both map to {p}")
            seen[p] = sigma_field
    event_ids = spec.get("event_ids") or []
    ocsf = spec["ocsf"]
    activities = ocsf.get("activity_ids") or [ocsf.get("activity_id")]
    if not all(isinstance(a, int) for a in activities):
        raise MappingError(f"{where}: `ocsf` needs activity_id (or activity_ids) as integers")
    if product == "windows" and (not spec.get("channel") or not event_ids):
        raise MappingError(f"{where}: Windows categories need `channel` and `event_ids`")
    raw = spec.get("raw") or {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise MappingError(f"{where}: `raw` maps Sigma fields to raw field names")
    unknown = set(raw) - set(fields)
    if unknown:
        raise MappingError(f"{where}: `raw` names fields missing from `fields`: {sorted(unknown)}")
    return Category(
        product=product,
        name=str(spec.get("category") or name),
        class_uid=int(ocsf["class_uid"]),
        activity_id=int(activities[0]),
        activity_ids=tuple(int(a) for a in activities),
        fields=fields,
        channel=spec.get("channel"),
        event_ids=tuple(int(e) for e in event_ids),
        raw_fields={str(k): str(v) for k, v in raw.items()},
    )


def parse_mapping(data: Any) -> FieldMapping:
    """Validate the YAML document and build the mapping; MappingError names the bad entry."""
    if not isinstance(data, dict) or data.get("version") != 1:
        raise MappingError("field mapping: expected a document with `version: 1`")
    win = data.get("windows") or {}
    lin = data.get("linux") or {}
    services = {
        str(k): _paths(v, f"field mapping windows.services.{k}")
        for k, v in (win.get("services") or {}).items()
    }
    return FieldMapping(
        windows_services=services,
        windows_categories=[
            _category("windows", k, v) for k, v in (win.get("categories") or {}).items()
        ],
        linux_categories=[
            _category("linux", k, v) for k, v in (lin.get("categories") or {}).items()
        ],
    )


@functools.cache
def default_mapping() -> FieldMapping:
    """The mapping shipped with Aurora, parsed once per process."""
    with MAPPING_FILE.open("rb") as fh:
        return parse_mapping(yaml.safe_load(fh))
