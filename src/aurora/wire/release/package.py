"""Build and sign release packages: an uncompressed tar of the manifest, its signature and payload.

The payload is the project wheel and the BPF objects (already compressed, so the tar adds none).
Building and signing are separate steps so the signing key can stay on an offline machine.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
from collections.abc import Iterable
from pathlib import Path

from aurora.wire.release import keys
from aurora.wire.release.errors import ReleaseError, TruncatedPackage
from aurora.wire.release.manifest import (
    MANIFEST,
    MAX_MANIFEST_BYTES,
    PAYLOAD,
    ROTATION,
    SIGNATURE,
    FileEntry,
    Manifest,
    current_platform,
    decode,
)

_WHEEL = re.compile(r"^aurora_edr-([^-]+)-.+\.whl$")
_READ = 1024 * 1024


def file_digest(path: Path) -> FileEntry:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(_READ):
            digest.update(block)
            size += len(block)
    return FileEntry(digest.hexdigest(), size)


def build(
    out: Path,
    wheel: Path,
    bpf_objects: Iterable[Path],
    *,
    platform: str = "",
    rollback: bool = False,
) -> Manifest:
    """Write an unsigned package holding ``wheel`` and ``bpf_objects``; its manifest."""
    match = _WHEEL.match(wheel.name)
    if match is None:
        raise ReleaseError(f"{wheel.name} is not an aurora-edr wheel (aurora_edr-VERSION-*.whl)")
    members = {f"{PAYLOAD}{wheel.name}": wheel}
    for obj in bpf_objects:
        members[f"{PAYLOAD}bpf/{obj.name}"] = obj
    manifest = Manifest(
        version=match.group(1),
        platform=platform or current_platform(),
        files={name: file_digest(path) for name, path in members.items()},
        key_id="",
        rollback=rollback,
    )
    with _writing(out) as tar:
        _add_bytes(tar, MANIFEST, manifest.encode())
        for name, path in sorted(members.items()):
            tar.add(path, arcname=name, recursive=False, filter=_plain)
    return manifest


def sign(path: Path, key_path: Path, rotation: Path | None = None) -> Manifest:
    """Sign the package at ``path`` in place with the private key at ``key_path``.

    With ``rotation`` (a message from :func:`keys.make_rotation`), sensors that pinned the old key
    accept the new one; the package must then be signed with the new key."""
    key = keys.load_private(key_path)
    rotation_bytes = rotation.read_bytes() if rotation is not None else b""
    with open_package(path) as tar:
        manifest = decode(member_bytes(tar, MANIFEST))
        signed = Manifest(
            manifest.version,
            manifest.platform,
            manifest.files,
            keys.key_id(key.public_key()),
            manifest.rollback,
        )
        body = signed.encode()
        tmp = path.with_name(f".{path.name}.signing")
        with _writing(tmp) as out:
            _add_bytes(out, MANIFEST, body)
            _add_bytes(out, SIGNATURE, key.sign(body))
            if rotation_bytes:
                _add_bytes(out, ROTATION, rotation_bytes)
            for member in tar:
                if member.name.startswith(PAYLOAD):
                    out.addfile(member, tar.extractfile(member))
    os.replace(tmp, path)
    return signed


def read_manifest(path: Path) -> Manifest:
    """The manifest of a package, unverified: the collector's view, read from the headers up to
    the manifest only (it comes first), so checking the rest is left to the sensors."""
    with open_package(path) as tar:
        try:
            for member in tar:
                if member.name == MANIFEST:
                    return decode(member_bytes(tar, MANIFEST, member))
        except (tarfile.TarError, EOFError) as exc:
            raise TruncatedPackage(f"the package is cut short ({exc})") from None
    raise ReleaseError(f"the package has no {MANIFEST}")


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o644
    info.mtime = 0
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = _plain(tarfile.TarInfo(name))
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _writing(path: Path) -> tarfile.TarFile:
    return tarfile.open(path, "w", format=tarfile.PAX_FORMAT)


def open_package(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:")
    except FileNotFoundError:
        raise ReleaseError(f"no package at {path}") from None
    except (tarfile.TarError, EOFError) as exc:
        raise TruncatedPackage(f"not a complete package ({exc})") from None


def member_bytes(tar: tarfile.TarFile, name: str, member: tarfile.TarInfo | None = None) -> bytes:
    """A small member's bytes (manifest, signature, rotation); ReleaseError when missing."""
    try:
        member = member or tar.getmember(name)
    except KeyError:
        raise ReleaseError(f"the package has no {name}") from None
    except (tarfile.TarError, EOFError) as exc:
        raise TruncatedPackage(f"the package is cut short ({exc})") from None
    if not member.isfile() or member.size > MAX_MANIFEST_BYTES:
        raise ReleaseError(f"the package's {name} is not a small regular file")
    handle = tar.extractfile(member)
    assert handle is not None  # a regular file always has data
    try:
        data = handle.read()
    except (tarfile.TarError, EOFError) as exc:
        raise TruncatedPackage(f"the package is cut short ({exc})") from None
    if len(data) != member.size:
        raise TruncatedPackage(f"the package is cut short inside {name}")
    return data
