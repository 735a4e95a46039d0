"""The one place detection compiles regular expressions: RE2 (linear time) first, a bounded
backtracking matcher only for the constructs RE2 lacks.

A backtracking engine (Python's ``re``) takes exponential time on patterns such as ``(a+)+$``,
so one rule could stall detection. RE2 guarantees time linear in the input, and every pattern it
accepts runs on it. It rejects backreferences and lookaround; those patterns run on the
``regex`` module (``re``'s syntax and semantics, plus a ``timeout`` argument enforced inside its
matching loop), so each match is bounded in time. A step count or input-length cap would not do:
``re`` offers no step budget, and catastrophic patterns blow up on inputs of 30 characters. A
match that exceeds the bound raises :class:`RegexTimeout`, which the engine turns into disabling
the rule (see :mod:`aurora.detection.engine`). Compiling has no timeout, so only patterns small
enough to compile quickly fall back; whatever else RE2 refuses (repetitions past 1,000,
possessive quantifiers) is refused, as pySigma's own RE2 check did before.

Flags are Python's ``re`` flag bits (Sigma's ``re|i``, ``re|m``, ``re|s``); Python's ``\\Z``
(end of text) is spelled ``\\z`` for RE2.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable
from typing import Any

import re2  # type: ignore[import-untyped]
import regex  # type: ignore[import-untyped]  # no stubs; used through `Any` below

from aurora.errors import AuroraError

#: The most one fallback (backtracking) match may take, in seconds.
FALLBACK_TIMEOUT_S = 0.25
#: The largest pattern (counted repetitions expanded) the fallback engine compiles: its compile
#: time grows with that size and, unlike its matches, has no timeout.
MAX_FALLBACK_SIZE = 10_000
# RE2's messages for what it lacks by design: lookaround, atomic and conditional groups,
# comments (perl operators), backreferences (escapes). Only these patterns use the fallback.
_FALLBACK_ERRORS = ("invalid perl operator", "invalid escape sequence")

# CPython's own regex parser measures a fallback pattern before it is compiled; the public
# sre_* aliases warn on import, and these private modules have no stubs.
python_re_parser: Any = importlib.import_module("re._parser")
python_re_constants: Any = importlib.import_module("re._constants")
_REPEATS = (
    python_re_constants.MAX_REPEAT,
    python_re_constants.MIN_REPEAT,
    python_re_constants.POSSESSIVE_REPEAT,
)

Finder = Callable[[str], bool]
_SUPPORTED_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL


class RegexError(AuroraError):
    """A pattern that neither engine accepts."""


class RegexTimeout(AuroraError):
    """A fallback match ran past :data:`FALLBACK_TIMEOUT_S`; the pattern must not run again."""

    def __init__(self, pattern: str, flags: int) -> None:
        super().__init__(
            f"regular expression {pattern!r} took over {FALLBACK_TIMEOUT_S:g} s on one value"
        )
        self.pattern = pattern
        self.flags = flags


def _re2_pattern(pattern: str) -> str:
    """``pattern`` in RE2 spelling: ``\\Z`` (Python's end of text) becomes ``\\z``."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append("\\z" if nxt == "Z" else c + nxt)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _re2_options(flags: int) -> Any:
    options = re2.Options()
    options.case_sensitive = not flags & re.IGNORECASE
    options.dot_nl = bool(flags & re.DOTALL)
    options.never_capture = True  # only "does it match" is asked; captures cost time
    options.log_errors = False  # a rejected pattern is reported by us, once, not on stderr
    return options


def _compile_re2(pattern: str, flags: int) -> Any:
    """The RE2 program for ``pattern``, or raises ``re2.error`` with RE2's reason."""
    if flags & ~_SUPPORTED_FLAGS:
        raise re2.error(f"flags {flags:#x} have no RE2 equivalent")
    spelled = _re2_pattern(pattern)
    if flags & re.MULTILINE:
        spelled = "(?m)" + spelled  # RE2's options have no multi-line switch outside POSIX mode
    return re2.compile(spelled, _re2_options(flags))


@functools.lru_cache(maxsize=4096)
def fallback_reason(pattern: str, flags: int = 0) -> str | None:
    """Why ``pattern`` cannot run on RE2 (RE2's own message), or None when it can."""
    try:
        _compile_re2(pattern, flags)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else str(exc)
        return reason.decode() if isinstance(reason, bytes) else str(reason)
    return None


def _expanded_size(items: Any) -> int:
    """How many single-character steps a parsed pattern spells out with its counted
    repetitions expanded (an upper bound on the fallback engine's compile work)."""
    total = 0
    for op, arg in items:
        if op in _REPEATS:
            lo, hi, sub = arg
            times = lo if hi == python_re_constants.MAXREPEAT else hi
            total += max(times, 1) * _expanded_size(sub)
        elif op is python_re_constants.SUBPATTERN:
            total += _expanded_size(arg[-1])
        elif op is python_re_constants.BRANCH:
            total += sum(_expanded_size(b) for b in arg[1])
        elif op in (python_re_constants.ASSERT, python_re_constants.ASSERT_NOT):
            total += _expanded_size(arg[1])
        else:
            total += 1
        if total > MAX_FALLBACK_SIZE:
            break
    return total


@functools.lru_cache(maxsize=4096)
def _refusal(pattern: str, flags: int) -> str | None:
    """Why neither engine may run ``pattern``; None when one may."""
    reason = fallback_reason(pattern, flags)
    if reason is None:
        return None
    if not reason.startswith(_FALLBACK_ERRORS):
        return reason  # not a construct RE2 lacks, just something RE2 refuses (too big...)
    try:
        size = _expanded_size(python_re_parser.parse(pattern, flags))
    except (re.error, RecursionError, OverflowError) as exc:
        return str(exc)
    if size > MAX_FALLBACK_SIZE:
        return f"repetitions expand past {MAX_FALLBACK_SIZE:,} steps"
    return None


def compiled(pattern: str, flags: int = 0) -> Any:
    """The compiled program: RE2's when it accepts ``pattern``, else the fallback engine's
    (whose matches need a ``timeout``: use :func:`finder` to run it). Raises
    :class:`RegexError` (one line) for a pattern neither may run."""
    refusal = _refusal(pattern, flags)
    if refusal is not None:
        raise RegexError(f"regular expression {pattern!r}: {refusal}")
    if fallback_reason(pattern, flags) is None:
        return _compile_re2(pattern, flags)
    try:
        return regex.compile(pattern, flags)
    except (regex.error, re.error, OverflowError, RecursionError) as exc:
        raise RegexError(f"regular expression {pattern!r}: {exc}") from None


def check(pattern: str, flags: int = 0) -> None:
    """Raise :class:`RegexError` (one line) unless some engine here accepts ``pattern``."""
    compiled(pattern, flags)


def finder(pattern: str, flags: int = 0, anchored: bool = False) -> Finder:
    """A test of one string: does ``pattern`` occur in it (or, ``anchored``, match at its
    start)? RE2 when it accepts the pattern, else the bounded fallback (may raise
    :class:`RegexTimeout`). Raises :class:`RegexError` for a pattern neither engine accepts."""
    rx = compiled(pattern, flags)
    find = rx.match if anchored else rx.search
    if fallback_reason(pattern, flags) is None:
        return lambda s: find(s) is not None
    bound = FALLBACK_TIMEOUT_S

    def bounded(s: str) -> bool:
        try:
            return find(s, timeout=bound) is not None
        except TimeoutError:
            raise RegexTimeout(pattern, flags) from None

    return bounded
