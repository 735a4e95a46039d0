"""Triage artifact definitions: what to collect is data (YAML), checked against a schema at load.

Each YAML file defines one artifact: a ``name``, a ``description``, the ``source`` that collects it
(one of the built-in collectors in :data:`SOURCE_PARAMS`) and that source's ``params``. Sites add
their own artifacts by dropping files in a directory named in ``response.triage_artifact_dirs``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from aurora.sensor.response.errors import ArtifactError

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{2,80}$")

# Each source's parameters and their types; anything else in ``params`` is an error.
SOURCE_PARAMS: dict[str, dict[str, type]] = {
    "processes": {},
    "sockets": {"kinds": list},
    "users": {"login_logs": list, "max_records": int},
    "kernel_modules": {},
    "files": {"paths": list, "contents": bool},
    "special_files": {"roots": list, "exclude": list, "max_entries": int},
    "recent_files": {"roots": list, "max_age_hours": int, "max_entries": int},
}
_REQUIRED_PARAMS = {"files": ("paths",), "special_files": ("roots",), "recent_files": ("roots",)}


@dataclass(frozen=True)
class Artifact:
    name: str
    description: str
    source: str
    params: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


def parse_artifact(text: str, origin: str) -> Artifact:
    """One artifact from YAML text; every problem names the file and the key."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ArtifactError(f"{origin}: invalid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ArtifactError(f"{origin}: an artifact must be a mapping")
    unknown = set(data) - {"name", "description", "source", "params"}
    if unknown:
        raise ArtifactError(f"{origin}: unknown key {sorted(unknown)[0]!r}")
    name, desc, source = data.get("name"), data.get("description"), data.get("source")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ArtifactError(f"{origin}: name must match {_NAME.pattern}")
    if not isinstance(desc, str) or not desc.strip():
        raise ArtifactError(f"{origin}: description is required")
    if source not in SOURCE_PARAMS:
        raise ArtifactError(f"{origin}: source must be one of {', '.join(sorted(SOURCE_PARAMS))}")
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise ArtifactError(f"{origin}: params must be a mapping")
    schema = SOURCE_PARAMS[source]
    for key, value in params.items():
        if key not in schema:
            raise ArtifactError(f"{origin}: params.{key} is not a parameter of source {source}")
        if not isinstance(value, schema[key]) or isinstance(value, bool) != (schema[key] is bool):
            raise ArtifactError(f"{origin}: params.{key} must be a {schema[key].__name__}")
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise ArtifactError(f"{origin}: params.{key} must be a list of strings")
    for key in _REQUIRED_PARAMS.get(source, ()):
        if key not in params:
            raise ArtifactError(f"{origin}: params.{key} is required by source {source}")
    return Artifact(name, desc.strip(), source, params, origin)


def builtin_texts() -> list[tuple[str, str]]:
    base = resources.files("aurora.sensor.response") / "artifacts"
    items = [(f.name, f.read_text()) for f in base.iterdir() if f.name.endswith(".yaml")]
    return sorted(items)


def load_artifacts(extra_dirs: list[Path] | None = None) -> dict[str, Artifact]:
    """The built-in artifacts plus every ``*.yaml`` in ``extra_dirs``; names must be unique."""
    texts = [(f"artifacts/{name}", text) for name, text in builtin_texts()]
    for directory in extra_dirs or []:
        if not directory.is_dir():
            raise ArtifactError(f"triage artifact directory {directory} does not exist")
        texts += [(str(p), p.read_text()) for p in sorted(directory.glob("*.yaml"))]
    found: dict[str, Artifact] = {}
    for origin, text in texts:
        art = parse_artifact(text, origin)
        if art.name in found:
            raise ArtifactError(
                f"{origin}: artifact {art.name} is already defined in {found[art.name].origin}"
            )
        found[art.name] = art
    return found
