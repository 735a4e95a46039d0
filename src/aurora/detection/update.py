"""`aurora rules update`: install a SigmaHQ release into the collector's rules directory.

The source (a URL, by default SigmaHQ's latest GitHub release; a local zip; or a local checkout of
the SigmaHQ repository) is unpacked into a staging directory next to the destination, checked (it
must contain Sigma rules that compile), given a manifest (source, version, time, counts: see
:mod:`aurora.detection.rule_sets`), then swapped in with renames, so a failed update never leaves
a half-written rule set behind. Test data, deprecated and unsupported rules are not installed.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import httpx

from aurora.detection.rule_sets import MANIFEST
from aurora.detection.rules import load_rules
from aurora.errors import AuroraError

MAX_ARCHIVE_BYTES = 512 * 1024 * 1024
# Directories of the SigmaHQ tree that hold no rule to run.
SKIPPED_DIRS = frozenset({"regression_data", "deprecated", "unsupported", "tests", ".github"})
_RELEASE_TAG = re.compile(r"/releases/download/([^/]+)/")


class RulesUpdateError(AuroraError):
    """The rule archive could not be fetched, read or installed."""


@dataclass
class UpdateResult:
    dest: Path
    rules: int
    failed: int
    files: int
    version: str = ""


def _wanted(parts: tuple[str, ...]) -> bool:
    """A rule file, not under a directory that holds test data or retired rules."""
    return PurePosixPath(parts[-1]).suffix in (".yml", ".yaml") and not SKIPPED_DIRS.intersection(
        parts[:-1]
    )


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
        raise RulesUpdateError(
            f"{source}: no such file or directory (give a zip archive, a SigmaHQ checkout or an "
            "http(s) URL)"
        )
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
            if info.is_dir() or not _wanted(name.parts):
                continue
            if name.is_absolute() or ".." in name.parts:
                raise RulesUpdateError(f"archive entry {info.filename} escapes the destination")
            target = into.joinpath(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            count += 1
    return count


def _copy_tree(src: Path, into: Path) -> int:
    count = 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src).parts
        if path.is_file() and not path.is_symlink() and _wanted(rel):
            target = into.joinpath(*rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            count += 1
    return count


def _tree_version(src: Path) -> str:
    """The version a checkout names (its SOURCE or version.txt, first line), else "local"."""
    for name in ("version.txt", "SOURCE"):
        try:
            line = (src / name).read_text().strip().splitlines()[0]
        except (OSError, IndexError):
            continue
        return line[:200]
    return "local"


def _archive_version(source: str, data: bytes) -> str:
    """The release tag in a GitHub release URL, else the archive's digest."""
    m = _RELEASE_TAG.search(source)
    return m.group(1) if m else "sha256:" + hashlib.sha256(data).hexdigest()[:16]


def install_rules(source: str, dest: Path) -> UpdateResult:
    """Fetch, unpack, verify and atomically install the rule set at ``dest``."""
    tree = Path(source) if not source.startswith(("http://", "https://")) else None
    data = b"" if tree is not None and tree.is_dir() else fetch_archive(source)
    dest = dest.resolve()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".sigma-update-", dir=dest.parent))
    except OSError as exc:
        raise RulesUpdateError(f"cannot write under {dest.parent}: {exc.strerror}") from None
    try:
        if data:
            files, version = _extract(data, staging), _archive_version(source, data)
        else:
            assert tree is not None
            files, version = _copy_tree(tree, staging), _tree_version(tree)
        what = "the archive" if data else str(source)
        if files == 0:
            raise RulesUpdateError(f"{what} contains no .yml rule files")
        loaded = load_rules([staging])
        if not loaded.rules:
            raise RulesUpdateError(f"no rule in {what} compiles; nothing installed")
        manifest = {
            "name": "SigmaHQ",
            "source": source,
            "version": version,
            "installed_ms": int(time.time() * 1000),
            "rules": len(loaded.rules),
            "failed": len(loaded.failures),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        old = dest.with_name(dest.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        if dest.exists():
            dest.rename(old)
        staging.rename(dest)
        if old.exists():
            shutil.rmtree(old)
        return UpdateResult(dest, len(loaded.rules), len(loaded.failures), files, version)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
