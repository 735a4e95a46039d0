"""Windows triage targets (``triage_targets.yaml``): loaded, checked, and expanded for a host.

A target is data, as KAPE's are: a name, a category and file patterns with environment
variables. Expansion turns them into concrete patterns for one host; a pattern under
``%UserProfile%`` becomes one per user profile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import yaml

from aurora.sensor.response.errors import ArtifactError

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,60}$")
_VARIABLE = re.compile(r"%([A-Za-z]+)%")
HOST_VARIABLES = ("SystemRoot", "SystemDrive", "ProgramData")
CATEGORIES = {"eventlogs", "execution", "registry", "persistence"}


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    category: str
    paths: tuple[str, ...]


def parse_targets(text: str, origin: str) -> list[Target]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ArtifactError(f"{origin}: invalid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("targets"), list):
        raise ArtifactError(f"{origin}: expected a mapping with a 'targets' list")
    out: list[Target] = []
    for i, item in enumerate(data["targets"]):
        where = f"{origin}: targets[{i}]"
        if not isinstance(item, dict):
            raise ArtifactError(f"{where}: must be a mapping")
        unknown = set(item) - {"name", "description", "category", "paths"}
        if unknown:
            raise ArtifactError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        name, paths = item.get("name"), item.get("paths")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ArtifactError(f"{where}: name must match {_NAME.pattern}")
        if item.get("category") not in CATEGORIES:
            raise ArtifactError(f"{where}: category must be one of {', '.join(sorted(CATEGORIES))}")
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            raise ArtifactError(f"{where}: paths must be a non-empty list of strings")
        for p in paths:
            for var in _VARIABLE.findall(p):
                if var not in (*HOST_VARIABLES, "UserProfile"):
                    raise ArtifactError(f"{where}: unknown variable %{var}% in {p!r}")
            if ".." in p.split("\\"):
                raise ArtifactError(f"{where}: '..' is not allowed in {p!r}")
        if any(t.name == name for t in out):
            raise ArtifactError(f"{where}: target {name} is defined twice")
        out.append(Target(name, str(item.get("description", "")), item["category"], tuple(paths)))
    return out


def builtin_targets() -> list[Target]:
    text = (resources.files("aurora.sensor.windows") / "triage_targets.yaml").read_text()
    return parse_targets(text, "triage_targets.yaml")


def expand(target: Target, env: dict[str, str], profiles: list[str]) -> list[str]:
    """Concrete patterns for one host: ``env`` gives the host variables, ``profiles`` the user
    profile directories (``C:\\Users\\alice``, ...)."""
    out: list[str] = []
    for pattern in target.paths:
        if "%UserProfile%" in pattern:
            out.extend(_fill(pattern, {**env, "UserProfile": p}) for p in profiles)
        else:
            out.append(_fill(pattern, env))
    return out


def _fill(pattern: str, values: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda m: values[m.group(1)], pattern)
