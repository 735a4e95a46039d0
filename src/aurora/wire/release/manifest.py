"""The release manifest: what a package holds (version, platform, SHA-256 and size of each file).

The manifest's exact bytes are what the Ed25519 signature covers, so it is serialised once with
sorted keys and never re-encoded after signing.
"""

from __future__ import annotations

import platform as host
import re
from dataclasses import dataclass
from typing import Any

import orjson
from packaging.version import InvalidVersion, Version

from aurora.wire.release.errors import ReleaseError

FORMAT = 1
PRODUCT = "aurora-edr"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
ROTATION = "rotation.json"
PAYLOAD = "payload/"
MAX_MANIFEST_BYTES = 1024 * 1024
# A payload name is one or two plain path parts: the wheel, or bpf/<object>.
_SAFE_NAME = re.compile(r"^payload/(bpf/)?[A-Za-z0-9][A-Za-z0-9._+-]{0,200}$")


def current_platform() -> str:
    """This host's target platform as manifests name it, e.g. ``linux-x86_64``."""
    return f"{host.system().lower()}-{host.machine().lower()}"


def safe_payload_name(name: str) -> bool:
    return bool(_SAFE_NAME.match(name)) and ".." not in name


def parse_version(text: str, what: str = "version") -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise ReleaseError(f"{what} {text!r} is not a valid version") from None


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    version: str
    platform: str
    files: dict[str, FileEntry]
    key_id: str
    # Signed permission to install this version over a newer one.
    rollback: bool = False

    def encode(self) -> bytes:
        doc: dict[str, Any] = {
            "format": FORMAT,
            "product": PRODUCT,
            "version": self.version,
            "platform": self.platform,
            "key_id": self.key_id,
            "rollback": self.rollback,
            "files": {
                name: {"sha256": f.sha256, "size": f.size} for name, f in sorted(self.files.items())
            },
        }
        return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)

    @property
    def wheel(self) -> str:
        return next(n for n in self.files if n.endswith(".whl"))


def decode(data: bytes) -> Manifest:
    """A manifest from its bytes; ReleaseError names the first thing wrong with it."""
    try:
        doc = orjson.loads(data)
        if not isinstance(doc, dict):
            raise TypeError("not an object")
        if doc.get("format") != FORMAT or doc.get("product") != PRODUCT:
            raise ValueError(f"not an {PRODUCT} format {FORMAT} manifest")
        files = {
            str(name): FileEntry(str(entry["sha256"]), int(entry["size"]))
            for name, entry in dict(doc["files"]).items()
        }
        manifest = Manifest(
            version=str(doc["version"]),
            platform=str(doc["platform"]),
            files=files,
            key_id=str(doc.get("key_id", "")),
            rollback=bool(doc.get("rollback", False)),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ReleaseError(f"the package manifest is malformed ({exc})") from None
    parse_version(manifest.version, "the manifest's version")
    bad = [name for name in files if not safe_payload_name(name)]
    if bad:
        raise ReleaseError(f"the manifest names an unsafe file {bad[0]!r}")
    if sum(name.endswith(".whl") for name in files) != 1:
        raise ReleaseError("the manifest must list exactly one wheel")
    return manifest
