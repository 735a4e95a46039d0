"""Plugin manifests: who a plugin is (name, version), which executable and account may speak for
it (pinned by SHA-256; a uid on Linux, a Windows account SID in ``account``), and which OCSF
classes it may emit. Read from TOML by the administrator, carried to sensors as JSON, and kept
by the sensor as one JSON file per enabled plugin."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from aurora.atomicfile import write_atomic
from aurora.errors import UsageError

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FIELDS = ("name", "version", "executable", "sha256", "classes", "uid", "account")
_OPTIONAL = frozenset({"uid", "account"})  # one of them: who may connect, per platform
# A Windows account: a SID, or the SDDL alias of a service account (LocalSystem, LocalService,
# NetworkService).
_ACCOUNT = re.compile(r"^(S-1-\d+(-\d+){1,14}|SY|LS|NS)$")
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:\\[^\x00/:*?\"<>|]+$")
MANIFEST_MAX_BYTES = 16 * 1024


class ManifestError(UsageError):
    """A manifest is malformed; the message names the file (when there is one) and the field."""


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    executable: str
    sha256: str
    classes: tuple[int, ...]
    uid: int | None  # None in a Windows manifest
    account: str = ""  # Windows: the account (SID) whose processes may connect to the pipe

    @property
    def windows(self) -> bool:
        return bool(_WINDOWS_PATH.match(self.executable))

    def to_json(self) -> str:
        fields = {k: v for k, v in asdict(self).items() if v is not None and v != ""}
        return orjson.dumps({**fields, "classes": list(self.classes)}).decode()


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def _is_ocsf_class(value: Any) -> bool:
    # OCSF class ids are category * 1000 + n (categories 1-8); 0 is the base event.
    return isinstance(value, int) and not isinstance(value, bool) and 1000 < value < 9000


def parse(raw: Any, source: str = "manifest") -> Manifest:
    """A checked manifest from its decoded form; ManifestError names the first bad field."""

    def bad(key: str, why: str) -> ManifestError:
        return ManifestError(f"{source}: {key}: {why}")

    if not isinstance(raw, dict):
        raise ManifestError(f"{source}: not a table of manifest fields")
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise bad(unknown[0], f"unknown field (known: {', '.join(_FIELDS)})")
    for key in _FIELDS:
        if key not in raw and key not in _OPTIONAL:
            raise bad(key, "missing")
    name, version, exe, digest = (raw[k] for k in ("name", "version", "executable", "sha256"))
    if not isinstance(name, str) or not _NAME.match(name):
        raise bad("name", "must be 1-64 of a-z 0-9 _ . - starting with a letter or digit")
    if not isinstance(version, str) or not version.strip() or len(version) > 64:
        raise bad("version", "must be a non-empty string of at most 64 characters")
    windows = isinstance(exe, str) and bool(_WINDOWS_PATH.match(exe))
    if not isinstance(exe, str) or not (exe.startswith("/") or windows) or "\x00" in exe:
        raise bad("executable", "must be an absolute path (/... or C:\\...)")
    if not isinstance(digest, str) or not _SHA256.match(digest.lower()):
        raise bad("sha256", "must be 64 hexadecimal digits")
    classes = raw["classes"]
    if not isinstance(classes, list) or not classes or not all(map(_is_ocsf_class, classes)):
        raise bad("classes", "must be a non-empty list of OCSF class ids (e.g. [3002])")
    uid, account = raw.get("uid"), raw.get("account", "")
    if windows:
        if not isinstance(account, str) or not _ACCOUNT.match(account):
            raise bad("account", "a Windows plugin needs the SID (S-1-5-...) that may connect")
        if uid is not None:
            raise bad("uid", "a Windows plugin is identified by its account, not a uid")
    else:
        if account:
            raise bad("account", "only for a Windows executable; a Linux plugin has a uid")
        if not isinstance(uid, int) or isinstance(uid, bool) or not 0 <= uid < 2**32:
            raise bad(
                "uid",
                "missing or not a numeric user id" if uid is None else "must be a numeric user id",
            )
    classes_t = tuple(sorted(set(classes)))
    return Manifest(name, version.strip(), exe, digest.lower(), classes_t, uid, account)


def read_text(path: Path) -> str:
    """The text of a manifest file, bounded in size; ManifestError when it cannot be read."""
    try:
        if path.stat().st_size > MANIFEST_MAX_BYTES:
            raise ManifestError(f"{path}: over {MANIFEST_MAX_BYTES:,} bytes, not a manifest")
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML: {exc}") from None


def load_file(path: Path) -> Manifest:
    """Read a TOML manifest an administrator wrote."""
    return from_toml(read_text(path), str(path))


def from_toml(text: str, source: str = "manifest") -> Manifest:
    """A manifest from its TOML text (a file's, or one sent to the collector's API)."""
    if len(text.encode()) > MANIFEST_MAX_BYTES:
        raise ManifestError(f"{source}: over {MANIFEST_MAX_BYTES:,} bytes, not a manifest")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{source}: not valid TOML: {exc}") from None
    return parse(raw, source)


def from_json(text: str, source: str = "manifest") -> Manifest:
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ManifestError(f"{source}: not valid JSON: {exc}") from None
    return parse(raw, source)


class ManifestDir:
    """The sensor's enabled manifests: ``<dir>/<name>.json``, each replaced whole when written.

    Read afresh on every lookup, so an enable or remove takes effect at the next handshake (and
    at the next heartbeat for a plugin already connected) without a restart.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ManifestError(f"plugin name {name!r} is not a valid manifest name")
        return self.root / f"{name}.json"

    def enable(self, manifest: Manifest) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(self._path(manifest.name), manifest.to_json().encode(), fsync=True)

    def remove(self, name: str) -> bool:
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            return False
        return True

    def get(self, name: str) -> Manifest | None:
        """The enabled manifest of ``name``; None when there is none (or it cannot be read)."""
        if not _NAME.match(name):
            return None
        path = self.root / f"{name}.json"
        try:
            return from_json(path.read_text(encoding="utf-8"), str(path))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, ManifestError):
            return None

    def names(self) -> list[str]:
        try:
            return sorted(p.stem for p in self.root.glob("*.json"))
        except OSError:
            return []


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
