"""Reading rule YAML that may be hostile: size and alias-expansion limits, checked before any
document is built, and the pySigma policy that runs rule regexes on Aurora's engines.

A YAML "billion laughs" document is a few hundred bytes whose aliases expand to billions of
nodes; the loader shares aliased nodes, but pySigma walks (and copies) them, which never ends.
The guard walks the parser's event stream once, counting the nodes the document expands to,
and refuses it past :data:`MAX_NODES`, in time linear in the document's size. Real Sigma rules
use few aliases if any, and their largest files are tens of kilobytes.
"""

from __future__ import annotations

from typing import Any, cast

import yaml
from sigma.policy import SigmaPolicy
from sigma.policy.regex_engine import RegexEngine, RegexPattern

from aurora.detection import regex

#: The largest rule file (or upload) read, in bytes.
MAX_RULE_BYTES = 1 << 20
#: The most YAML nodes one rule file may expand to, aliases expanded.
MAX_NODES = 200_000

_Parser = getattr(yaml, "CParser", None)
# libyaml (C) parser and loader: pure-Python YAML parsing was 90% of load time for SigmaHQ.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RuleYamlError(ValueError):
    """A rule document refused before parsing (too large, or an alias bomb)."""


def _expanded_nodes(text: str) -> int:
    """The node count of ``text`` with every alias expanded; raises past :data:`MAX_NODES`."""
    anchors: dict[str, int] = {}
    # One counter per open collection: (nodes inside so far, its anchor)
    open_: list[tuple[int, str | None]] = [(0, None)]

    def add(n: int) -> None:
        count, anchor = open_[-1]
        count += n
        if count > MAX_NODES:
            raise RuleYamlError(
                f"YAML expands to over {MAX_NODES:,} nodes (an alias bomb?); refused"
            )
        open_[-1] = (count, anchor)

    events = yaml.parse(text, Loader=_Parser) if _Parser else yaml.parse(text)
    for ev in events:
        if isinstance(ev, yaml.AliasEvent):
            size = anchors.get(str(ev.anchor))
            if size is None:
                return open_[0][0]  # an undefined alias: the loader reports it properly
            add(size)
        elif isinstance(ev, yaml.ScalarEvent):
            if ev.anchor is not None:
                anchors[ev.anchor] = 1
            add(1)
        elif isinstance(ev, yaml.CollectionStartEvent):
            open_.append((1, ev.anchor))
        elif isinstance(ev, yaml.CollectionEndEvent):
            count, anchor = open_.pop()
            if anchor is not None:
                anchors[anchor] = count
            add(count)
    return open_[0][0]


def load_documents(text: str) -> list[Any]:
    """The YAML documents of one rule file, or :class:`RuleYamlError` / ``yaml.YAMLError``."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_RULE_BYTES:
        raise RuleYamlError(f"rule file is {size:,} bytes, over the {MAX_RULE_BYTES:,} limit")
    _expanded_nodes(text)
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
