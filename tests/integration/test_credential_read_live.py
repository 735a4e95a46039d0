"""The credential-read and DNS-over-TCP rules fire on what the real sensor saw of a real action,
and stay quiet on a close benign look-alike, the way test_linux_pack_live does it for the rest of
the pack (its Capture, run here with a read watch list that covers the test's stand-in /home).

Actions read planted stand-ins (no real secret is touched): a private key, AWS and kube
credentials, a Firefox password store, all under the temporary home; /etc/shadow is read for
real, as the attacker's and as chage's. DNS questions go to the test's own server on loopback
port 53.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.integration.test_linux_pack_live import (
    Capture,
    Case,
    Event,
    LookAlike,
    _sh,
    live_capture,
    py,
)
from tests.sensor.test_dns_wire import SERVER, Servers

from aurora.config.sensor import DEFAULT_WATCH_PATHS, DEFAULT_WATCH_READ_PATHS, SensorConfig

pytestmark = [pytest.mark.root, pytest.mark.kernel]

# The per-user read patterns of the default list, for the stand-in home (the kernel list holds 32).
HOME_READS = (
    ".ssh",
    ".aws",
    ".kube/config",
    ".config/gcloud",
    ".mozilla/firefox/*/logins.json",
    ".config/google-chrome/*/Login Data",
)


def home_read_paths(home: Path) -> list[str]:
    return [*DEFAULT_WATCH_READ_PATHS, *(f"{home}/*/{p}" for p in HOME_READS)]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Capture]:
    yield from live_capture(
        tmp_path_factory,
        lambda home: SensorConfig(
            watch_paths=[*DEFAULT_WATCH_PATHS, str(home)], watch_read_paths=home_read_paths(home)
        ),
    )


@pytest.fixture
def dns_server() -> Iterator[str]:
    servers = Servers()
    try:
        yield SERVER
    finally:
        servers.close()


def _read_of(suffix: str, image: str) -> Callable[[Event], bool]:
    """The look-alike's read of ``suffix`` by ``image`` was reported."""
    return lambda ev: (
        ev.get("class_uid") == 1001
        and ev["activity_id"] == 2
        and ev["file"]["path"].endswith(suffix)
        and ev["actor"]["process"]["file"]["path"].endswith("/" + image)
    )


def _plant(c: Capture, rel: str, text: str = "stand-in secret") -> str:
    """Shell that creates ``rel`` under the stand-in home; the read follows it."""
    path = c.home / rel
    return f"mkdir -p '{path.parent}' && echo '{text}' > '{path}'"


# A TXT question for aGVs.t.example, the shape a DNS tunnel's queries have.
QUESTION = """
import socket, struct, sys
name = b"\\x04aGVs\\x01t\\x07example\\x00"
q = struct.pack("!HHHHHH", 77, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 16, 1)
"""
TCP_QUESTION = (
    QUESTION
    + """
with socket.create_connection((sys.argv[1], 53), timeout=5) as c:
    c.sendall(struct.pack("!H", len(q)) + q)
    c.recv(2)
"""
)
UDP_QUESTION = (
    QUESTION
    + """
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.settimeout(5)
    s.sendto(q, (sys.argv[1], 53))
    s.recvfrom(512)
"""
)


CASES = [
    Case(
        "file_access_lnx_aurora_shadow_read",
        lambda c, f: py("open('/etc/shadow').read()"),
        lambda ev: ev["file"]["path"] == "/etc/shadow",
    ),
    Case(
        "file_access_lnx_aurora_ssh_private_key_read",
        lambda c, f: _sh(
            f"{_plant(c, 'alice/.ssh/id_ed25519')} && cp {c.home}/alice/.ssh/id_ed25519 {c.tmp}/k"
        ),
        lambda ev: ev["file"]["path"].endswith("/alice/.ssh/id_ed25519"),
    ),
    Case(
        "file_access_lnx_aurora_cloud_credential_read",
        lambda c, f: _sh(
            f"{_plant(c, 'bob/.aws/credentials')} && cat {c.home}/bob/.aws/credentials"
        ),
        lambda ev: ev["file"]["path"].endswith("/bob/.aws/credentials"),
    ),
    Case(
        "file_access_lnx_aurora_cloud_credential_read",
        lambda c, f: _sh(f"{_plant(c, 'bob/.kube/config')} && cat {c.home}/bob/.kube/config"),
        lambda ev: ev["file"]["path"].endswith("/bob/.kube/config"),
    ),
    Case(
        "file_access_lnx_aurora_browser_credential_read",
        lambda c, f: _sh(
            f"{_plant(c, 'carol/.mozilla/firefox/p.default/logins.json')} && "
            f"cp {c.home}/carol/.mozilla/firefox/p.default/logins.json {c.tmp}/l"
        ),
        lambda ev: ev["file"]["path"].endswith("/p.default/logins.json"),
    ),
    Case(
        "dns_query_lnx_aurora_dns_over_tcp",
        lambda c, f: [*py(TCP_QUESTION), f["dns_server"]],
        lambda ev: ev["query"]["hostname"] == "aGVs.t.example",
        ("dns_server",),
    ),
]

LOOK_ALIKES = [
    # the account tool reads the hashes every day: chage -l shows the password ageing
    LookAlike(
        "file_access_lnx_aurora_shadow_read",
        lambda c, f: ["chage", "-l", "root"],
        _read_of("/etc/shadow", "chage"),
    ),
    # ssh-keygen reads the private key to print its public half
    LookAlike(
        "file_access_lnx_aurora_ssh_private_key_read",
        lambda c, f: _sh(
            f"mkdir -p {c.home}/dan/.ssh && rm -f {c.home}/dan/.ssh/id_ed25519* && "
            f"ssh-keygen -q -t ed25519 -N '' -f {c.home}/dan/.ssh/id_ed25519 && "
            f"ssh-keygen -y -f {c.home}/dan/.ssh/id_ed25519"
        ),
        _read_of("/dan/.ssh/id_ed25519", "ssh-keygen"),
    ),
    # the AWS CLI's own settings file, not the keys
    LookAlike(
        "file_access_lnx_aurora_cloud_credential_read",
        lambda c, f: _sh(f"{_plant(c, 'erin/.aws/config')} && cat {c.home}/erin/.aws/config"),
        _read_of("/erin/.aws/config", "cat"),
    ),
    # the browser reading its own store (a program named firefox)
    LookAlike(
        "file_access_lnx_aurora_browser_credential_read",
        lambda c, f: _sh(
            f"{_plant(c, 'fay/.mozilla/firefox/q.default/logins.json')} && "
            f"cp /bin/cat {c.tmp}/firefox && "
            f"{c.tmp}/firefox {c.home}/fay/.mozilla/firefox/q.default/logins.json"
        ),
        _read_of("/q.default/logins.json", "firefox"),
    ),
    # the same question over UDP, the ordinary way
    LookAlike(
        "dns_query_lnx_aurora_dns_over_tcp",
        lambda c, f: [*py(UDP_QUESTION), f["dns_server"]],
        lambda ev: ev.get("class_uid") == 4003 and ev["query"]["hostname"] == "aGVs.t.example",
        ("dns_server",),
    ),
]
LIVE_RULES = {c.rule for c in CASES}


def test_every_rule_here_has_a_positive_and_a_look_alike() -> None:
    assert {c.rule for c in LOOK_ALIKES} == LIVE_RULES


@pytest.mark.parametrize("case", LOOK_ALIKES, ids=lambda c: c.rule.replace("_lnx_aurora_", ":"))
def test_rule_stays_quiet_on_its_benign_look_alike(
    capture: Capture, case: LookAlike, request: pytest.FixtureRequest
) -> None:
    argv = case.action(capture, {name: request.getfixturevalue(name) for name in case.fixtures})
    capture.quiet(case.rule, argv, case.seen)


def _case_id(case: Case) -> str:
    n = sum(1 for c in CASES[: CASES.index(case)] if c.rule == case.rule)
    return case.rule.replace("_lnx_aurora_", ":") + (f"-{n + 1}" if n else "")


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_rule_fires_on_its_real_action(
    capture: Capture, case: Case, request: pytest.FixtureRequest
) -> None:
    argv = case.action(capture, {name: request.getfixturevalue(name) for name in case.fixtures})
    ev: Event = capture.trigger(case.rule, argv, case.check)
    assert ev["class_uid"] in (1001, 4003)
