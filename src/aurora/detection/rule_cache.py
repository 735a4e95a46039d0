"""On-disk cache of compiled rule sets, so a scan whose rules did not change skips pySigma.

An entry is keyed by a digest of every rule file's path and bytes, the placeholders, Aurora's
version and the source of the modules that compile rules; any change gives a new key, so a stale
entry is never read. Entries are pickles, read only from a directory that this user owns and
nobody else can write; a damaged entry is logged, ignored and rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import stat
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import aurora

log = logging.getLogger(__name__)

#: Bumped when the layout of a cache entry changes.
CACHE_FORMAT = 1
#: Entries kept per directory (one per distinct rule set); the least recently used go first.
MAX_ENTRIES = 8
#: `AURORA_RULE_CACHE=off` disables the cache; any other value is the directory to use.
ENV = "AURORA_RULE_CACHE"
# The modules whose code decides what a compiled rule looks like: a change to one is a new key
# even when Aurora's version string stays the same (a developer's checkout).
_COMPILER_MODULES = ("rules.py", "ir.py", "regex.py", "rule_yaml.py", "rule_cache.py")
_SUFFIX = ".rules.pickle"


def default_dir() -> Path | None:
    """Where entries live: ``$AURORA_RULE_CACHE``, else ``$XDG_CACHE_HOME/aurora/rules``
    (``~/.cache/aurora/rules``); None when the cache is turned off."""
    env = os.environ.get(ENV, "").strip()
    if env.lower() in ("off", "0", "no", "false"):
        return None
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aurora" / "rules"


def _code_digest() -> bytes:
    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in _COMPILER_MODULES:
        h.update((here / name).read_bytes())
    return h.digest()


def _pysigma_version() -> str:
    try:
        return metadata.version("pysigma")
    except metadata.PackageNotFoundError:  # pragma: no cover - pySigma is a dependency
        return "unknown"


def rule_set_key(sources: Sequence[tuple[Path | None, str]], extra: Any) -> str:
    """The cache key of ``sources`` (path, text) compiled with ``extra`` (placeholders and
    anything else that changes the output, as a repr-able value)."""
    h = hashlib.sha256()
    h.update(f"{CACHE_FORMAT}\0{aurora.__version__}\0{_pysigma_version()}\0".encode())
    h.update(_code_digest())
    h.update(repr(extra).encode())
    for path, text in sources:
        encoded = text.encode("utf-8", "surrogatepass")
        h.update(f"\0{path}\0{len(encoded)}\0".encode())
        h.update(encoded)
    return h.hexdigest()


class RuleCache:
    """Compiled rule sets in one directory; every failure to read or write is a miss."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.hits = 0
        self.misses = 0

    def _usable_dir(self, create: bool) -> bool:
        try:
            if create:
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            st = self.directory.stat()
        except OSError:
            return False
        # A pickle runs code when read: only trust a directory nobody else can write into.
        if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            log.warning("rule cache %s is not private to this user; not used", self.directory)
            return False
        return True

    def _entry(self, key: str) -> Path:
        return self.directory / f"{key}{_SUFFIX}"

    def get(self, key: str, kind: type[Any]) -> Any:
        """The rule set (a ``kind``) stored under ``key``, or None (absent, damaged, not ours)."""
        entry = self._entry(key)
        if not entry.exists() or not self._usable_dir(create=False):
            self.misses += 1
            return None
        try:
            st = entry.stat()
            if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                raise ValueError("entry is writable by others")
            with entry.open("rb") as fh:
                fmt, stored_key, result = pickle.load(fh)
            if fmt != CACHE_FORMAT or stored_key != key or not isinstance(result, kind):
                raise ValueError("entry does not hold this rule set")
        except Exception as exc:  # any damage at all: rebuild rather than fail the scan
            log.warning("rule cache entry %s unusable (%s); rebuilding it", entry.name, exc)
            self.misses += 1
            return None
        with contextlib.suppress(OSError):  # recently used: kept when old entries are pruned
            os.utime(entry)
        self.hits += 1
        return result

    def put(self, key: str, result: object) -> None:
        """Store ``result`` under ``key`` (written whole, then renamed into place)."""
        if not self._usable_dir(create=True):
            return
        try:
            data = pickle.dumps((CACHE_FORMAT, key, result), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # e.g. an object pySigma made that cannot be pickled
            log.info("rule set not cached: %s", exc)
            return
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, self._entry(key))
        except OSError as exc:  # a full disk: the scan goes on, the next one compiles again
            log.warning("rule cache %s not written: %s", self.directory, exc.strerror)
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            return
        self._prune()

    def _prune(self) -> None:
        try:
            entries = sorted(
                self.directory.glob(f"*{_SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True
            )
            for old in entries[MAX_ENTRIES:]:
                old.unlink(missing_ok=True)
        except OSError:
            pass  # another scan pruned the same directory at the same time


def default_cache() -> RuleCache | None:
    directory = default_dir()
    return RuleCache(directory) if directory is not None else None
