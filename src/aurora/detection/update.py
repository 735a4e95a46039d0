"""`aurora rules update`: install a SigmaHQ release archive into the rules directory.

The archive (a URL, by default SigmaHQ's latest GitHub release, or a local zip) is unpacked into a
staging directory next to the destination, checked (it must contain Sigma rules that compile),
then swapped in with renames so a failed update never leaves a half-written rule set behind.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import httpx

from aurora.detection.rules import load_rules
from aurora.errors import AuroraError

MAX_ARCHIVE_BYTES = 512 * 1024 * 1024


class RulesUpdateError(AuroraError):
    """The rule archive could not be fetched, read or installed."""


@dataclass
class UpdateResult:
    dest: Path
    rules: int
    failed: int
    files: int


def fetch_archive(source: str, timeout: float = 60.0) -> bytes:
    """Bytes of the zip at ``source``: an http(s) URL or a local path."""
    if source.startswith(("http://", "https://")):
        try:
            with httpx.stream("GET", source, follow_redirects=True, timeout=timeout) as resp:
                if resp.status_code != 200:
                    raise RulesUpdateError(f"download of {source} failed: HTTP {resp.status_code}")
                buf = io.BytesIO()
                for chunk in resp.iter_bytes():
                    buf.write(chunk)
                    if buf.tell() > MAX_ARCHIVE_BYTES:
                        raise RulesUpdateError(f"{source}: archive larger than 512 MiB")
                return buf.getvalue()
        except httpx.HTTPError as exc:
            raise RulesUpdateError(f"download of {source} failed: {exc}") from None
    path = Path(source)
    if not path.is_file():
        raise RulesUpdateError(f"{source}: no such file (give a zip archive or an http(s) URL)")
    return path.read_bytes()


def _extract(data: bytes, into: Path) -> int:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise RulesUpdateError("not a zip archive") from None
    count = 0
    with archive:
        for info in archive.infolist():
            name = PurePosixPath(info.filename)
            if info.is_dir() or name.suffix not in (".yml", ".yaml"):
                continue
            if name.is_absolute() or ".." in name.parts:
                raise RulesUpdateError(f"archive entry {info.filename} escapes the destination")
            target = into.joinpath(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            count += 1
    return count


def install_rules(source: str, dest: Path) -> UpdateResult:
    """Fetch, unpack, verify and atomically install the rule archive at ``dest``."""
    data = fetch_archive(source)
    dest = dest.resolve()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".sigma-update-", dir=dest.parent))
    except OSError as exc:
        raise RulesUpdateError(f"cannot write under {dest.parent}: {exc.strerror}") from None
    try:
        files = _extract(data, staging)
        if files == 0:
            raise RulesUpdateError("the archive contains no .yml rule files")
        loaded = load_rules([staging])
        if not loaded.rules:
            raise RulesUpdateError("no rule in the archive compiles; nothing installed")
        old = dest.with_name(dest.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        if dest.exists():
            dest.rename(old)
        staging.rename(dest)
        if old.exists():
            shutil.rmtree(old)
        return UpdateResult(dest, len(loaded.rules), len(loaded.failures), files)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
