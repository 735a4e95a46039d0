"""Host isolation on Linux: one dedicated nftables table, installed in a single nft transaction.

The table drops everything except loopback, the collector's addresses and port, DNS, DHCP and the
configured extra networks. Because it lives in its own table, unisolating deletes exactly that
table and never touches the rest of the host's ruleset. nft failures are classified into typed
errors (nft missing, permission denied, ruleset rejected) from its exit status and stderr.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess

from aurora.sensor.response.errors import NftMissing, PermissionDenied, RulesetRejected
from aurora.sensor.response.isolation import IsolationPlan

TABLE = "aurora_isolation"
FAMILY = "inet"
# Daemons started by init often have no sbin in PATH, where Debian installs nft.
_EXTRA_PATH = "/usr/sbin:/sbin:/usr/local/sbin"
_NFT_TIMEOUT_S = 30.0
# Neighbour discovery: without it an IPv6 collector on the local link is unreachable.
_ND_IN = "nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert"
_ND_OUT = "nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit"


def _split(addrs: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """IPv4 and IPv6 networks, overlaps merged (nft rejects overlapping interval elements)."""
    nets = [ipaddress.ip_network(a, strict=False) for a in addrs]
    v4 = [n for n in nets if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in nets if isinstance(n, ipaddress.IPv6Network)]
    return (
        [str(n) for n in ipaddress.collapse_addresses(v4)],
        [str(n) for n in ipaddress.collapse_addresses(v6)],
    )


def _match(proto: str, direction: str, nets: list[str]) -> str:
    return f"{proto} {direction} {{ {', '.join(nets)} }}"


def render_ruleset(plan: IsolationPlan) -> str:
    """The nft script; create-then-delete makes re-isolating one atomic replacement."""
    c4, c6 = _split(plan.collector_addrs)
    a4, a6 = _split(plan.allow)
    ports = ", ".join(str(p) for p in plan.ports)
    inp = ['iif "lo" accept', "ct state established,related accept"]
    out = ['oif "lo" accept']
    for proto, nets in (("ip", c4), ("ip6", c6)):
        if nets:
            inp.append(f"{_match(proto, 'saddr', nets)} tcp sport {{ {ports} }} accept")
            out.append(f"{_match(proto, 'daddr', nets)} tcp dport {{ {ports} }} accept")
    for proto, nets in (("ip", a4), ("ip6", a6)):
        if nets:
            inp.append(f"{_match(proto, 'saddr', nets)} accept")
            out.append(f"{_match(proto, 'daddr', nets)} accept")
    if plan.allow_dns:
        out += ["udp dport 53 accept", "tcp dport 53 accept"]
    if plan.allow_dhcp:
        # Offers and acks may be broadcast, which conntrack does not tie to our request.
        inp += ["udp sport 67 udp dport 68 accept", "udp sport 547 udp dport 546 accept"]
        out += ["udp sport 68 udp dport 67 accept", "udp sport 546 udp dport 547 accept"]
    inp.append(f"icmpv6 type {{ {_ND_IN} }} accept")
    out.append(f"icmpv6 type {{ {_ND_OUT} }} accept")
    lines = [
        f"table {FAMILY} {TABLE}",
        f"delete table {FAMILY} {TABLE}",
        f"table {FAMILY} {TABLE} {{",
    ]
    for chain, hook, rules in (("input", "input", inp), ("output", "output", out)):
        lines.append(f"  chain {chain} {{")
        lines.append(f"    type filter hook {hook} priority filter - 10; policy drop;")
        lines += [f"    {rule}" for rule in rules]
        lines.append("  }")
    # Containers and VMs on the host route through forward: an isolated host isolates them too.
    lines += [
        "  chain forward {",
        "    type filter hook forward priority filter - 10; policy drop;",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def classify_nft_failure(returncode: int, stderr: str) -> Exception:
    """Turn nft's exit status and stderr into the typed error the analyst sees."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    first = next((ln for ln in lines if "Error:" in ln), lines[0] if lines else "")
    if "Operation not permitted" in stderr or "Permission denied" in stderr:
        return PermissionDenied(
            "nft: operation not permitted; the sensor needs root or CAP_NET_ADMIN to isolate"
        )
    detail = first or f"exit status {returncode}"
    return RulesetRejected(f"nft rejected the isolation ruleset: {detail}")


class NftIsolation:
    """The nftables backend of :class:`~aurora.sensor.response.isolation.Isolation`."""

    def __init__(self, nft_path: str = "nft") -> None:
        self._nft_path = nft_path

    def nft_binary(self) -> str:
        if os.sep in self._nft_path:
            return self._nft_path
        path = os.environ.get("PATH", "") + os.pathsep + _EXTRA_PATH
        found = shutil.which(self._nft_path, path=path)
        if found is None:
            raise NftMissing("nft not found in PATH; install nftables (apt install nftables)")
        return found

    def _run(self, args: list[str], script: str | None = None) -> subprocess.CompletedProcess[str]:
        binary = self.nft_binary()
        try:
            return subprocess.run(
                [binary, *args],
                input=script,
                capture_output=True,
                text=True,
                timeout=_NFT_TIMEOUT_S,
                check=False,
            )
        except (FileNotFoundError, NotADirectoryError):
            raise NftMissing(f"nft not found at {binary}; install nftables") from None
        except PermissionError:
            raise NftMissing(f"nft at {binary} cannot be executed (permission denied)") from None
        except OSError as exc:
            raise NftMissing(f"nft at {binary} cannot be executed: {exc.strerror}") from None
        except subprocess.TimeoutExpired:
            raise RulesetRejected(f"nft did not answer within {_NFT_TIMEOUT_S:.0f}s") from None

    def _transaction(self, script: str) -> None:
        proc = self._run(["-f", "-"], script)
        if proc.returncode != 0:
            raise classify_nft_failure(proc.returncode, proc.stderr)

    def apply(self, plan: IsolationPlan) -> None:
        self._transaction(render_ruleset(plan))

    def remove(self) -> None:
        # Creating first makes deletion succeed whether or not the table exists: a no-op unisolate.
        self._transaction(f"table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n")

    def is_applied(self) -> bool:
        proc = self._run(["list", "table", FAMILY, TABLE])
        if proc.returncode == 0:
            return True
        if "No such file or directory" in proc.stderr:
            return False
        raise classify_nft_failure(proc.returncode, proc.stderr)

    def table_listing(self) -> str | None:
        """The isolation table as nft lists it now, or None when it is absent (the guard compares
        it between checks: a flushed or edited table differs)."""
        proc = self._run(["list", "table", FAMILY, TABLE])
        if proc.returncode == 0:
            return proc.stdout
        if "No such file or directory" in proc.stderr:
            return None
        raise classify_nft_failure(proc.returncode, proc.stderr)

    def ruleset(self) -> str:
        """The host's whole ruleset, as text (tests compare it before and after)."""
        proc = self._run(["list", "ruleset"])
        if proc.returncode != 0:
            raise classify_nft_failure(proc.returncode, proc.stderr)
        return proc.stdout
