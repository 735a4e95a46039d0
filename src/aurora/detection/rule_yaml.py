"""Reading rule YAML that may be hostile, and the pySigma policy that runs rule regexes on
Aurora's engines.

Three limits, each refused with a one-line reason: the file size; nesting depth (libyaml's
composer recurses in C and crashes the whole process, API or collector, on ~30,000 nested
``[``: a 60 KB upload); and alias expansion ("billion laughs"), which pySigma's own
``check_alias_expansion`` refuses on the loaded (shared, so small) structure. Depth is read from
the parser's event stream, which does not recurse; that walk costs as much as loading, so it
only runs on texts with enough brackets to nest deeply (block nesting is bounded by the size
limit: depth d takes d²/2 bytes of indentation, and 16 MiB of it loads fine).
"""

from __future__ import annotations

import importlib
from typing import Any, cast

import yaml
from sigma.policy import SigmaPolicy
from sigma.policy.regex_engine import RegexEngine, RegexPattern

from aurora.detection import regex

#: The largest rule file read, in bytes: the most the console's `[api] max_rule_bytes` allows.
MAX_RULE_BYTES = 16 << 20
#: The deepest YAML nesting accepted (SigmaHQ's rules nest 5 or 6 levels).
MAX_DEPTH = 64
#: Below this many flow brackets a document cannot nest deeply enough to matter.
_BRACKETS_WORTH_WALKING = 1000

# libyaml (C) parser and loader: pure-Python YAML parsing was 90% of load time for SigmaHQ.
_Parser: Any = getattr(importlib.import_module("yaml.cyaml"), "CParser", None) or yaml.SafeLoader
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RuleYamlError(ValueError):
    """A rule document refused before parsing (too large or too deeply nested)."""


def _check_depth(text: str) -> None:
    if text.count("[") + text.count("{") < _BRACKETS_WORTH_WALKING:
        return
    depth = 0
    for ev in yaml.parse(text, Loader=_Parser):
        if isinstance(ev, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise RuleYamlError(f"YAML nests deeper than {MAX_DEPTH} levels; refused")
        elif isinstance(ev, yaml.CollectionEndEvent):
            depth -= 1


def load_documents(text: str) -> list[Any]:
    """The YAML documents of one rule file, or :class:`RuleYamlError` / ``yaml.YAMLError``."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_RULE_BYTES:
        raise RuleYamlError(f"rule file is {size:,} bytes, over the {MAX_RULE_BYTES:,} limit")
    _check_depth(text)
    return list(yaml.load_all(text, Loader=_Loader))


class AuroraRegexEngine(RegexEngine):
    """pySigma's regex validation on the engines detection runs the rule with (so a pattern
    RE2 lacks loads, to run on the bounded fallback, instead of failing to load)."""

    def compile(self, pattern: str, flags: int = 0) -> RegexPattern:
        regex.check(pattern, flags)
        return cast(RegexPattern, regex.compiled(pattern, flags))

    @property
    def error(self) -> type[Exception]:
        return regex.RegexError


POLICY = SigmaPolicy(regex_engine=AuroraRegexEngine())
