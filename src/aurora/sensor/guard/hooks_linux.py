"""Linux hook health: is every BPF program the sensor attached still attached, and the one loaded?

At start the guard notes, per attached program, its link's id and the program's id and tag as the
kernel reports them. Each check asks the kernel again through the same descriptors: a link whose
descriptor was closed (an attacker with a debugger inside the sensor) or now names another object
is *detached*; a link running another program, or a program with another tag, is *replaced*, and
so is a gone link whose program's name now runs, alone of its object, in a new link of the same
kind (a look-alike attached in its place, found among the links created since it was last seen).
The file family's watched-path maps (writes and reads) are hashed too: a write from outside
(``bpftool map update``) makes one *altered*, and the sensor writes its rules back at once.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Collection
from dataclasses import dataclass

from aurora.errors import AuroraError
from aurora.sensor.guard import bpfinfo
from aurora.sensor.guard.status import OK, Observation
from aurora.sensor.linux.records import READ_RULES_MAX, WATCH_RULES_MAX, WatchRule
from aurora.sensor.linux.sensor import LinuxSensor

# The file family's rule maps the guard hashes, with their sizes.
_RULE_MAPS = {"watch_rules": WATCH_RULES_MAX, "read_rules": READ_RULES_MAX}


@dataclass(frozen=True)
class AttachedHook:
    name: str  # family/program
    link: int  # libbpf's bpf_link
    link_fd: int
    link_id: int
    prog_fd: int
    prog_id: int
    tag: str
    prog_name: str  # the kernel's (truncated) name, what a look-alike would copy
    link_type: int


class LinuxHooks:
    """The hooks of one running :class:`LinuxSensor`."""

    def __init__(self, sensor: LinuxSensor) -> None:
        self.sensor = sensor
        self.hooks: list[AttachedHook] = []
        for family, obj in sorted(sensor.bpf_objects().items()):
            for prog_name, (prog, link) in sorted(obj.attached.items()):
                lfd, pfd = bpfinfo.link_fd(link), bpfinfo.program_fd(prog)
                linfo, pinfo = bpfinfo.link_info(lfd), bpfinfo.prog_info(pfd)
                self.hooks.append(
                    AttachedHook(
                        f"{family}/{prog_name}",
                        link,
                        lfd,
                        linfo.link_id,
                        pfd,
                        pinfo.prog_id,
                        pinfo.tag,
                        pinfo.name,
                        linfo.link_type,
                    )
                )
        self._watch_digests = {m: self._digest_rules(m) for m in _RULE_MAPS}
        self._positions = sensor.ring_positions()
        # Links found gone: their descriptor number is no longer ours to ask about or close.
        self._gone: dict[str, Observation] = {}
        # The newest link id on the host at the last check, and per gone hook the one at the
        # check before it was found gone: a look-alike is a link created after that (other
        # tools' links that already ran beside ours, even of the same program, are not).
        self._newest_link = bpfinfo.newest_link_id()
        self._gone_after: dict[str, int] = {}

    def _digest_rules(self, map_name: str) -> str:
        obj = self.sensor.bpf_objects().get("file")
        if obj is None:
            return ""
        return bpfinfo.array_digest(
            obj.map_fd(map_name), _RULE_MAPS[map_name], ctypes.sizeof(WatchRule)
        )

    def check(self) -> list[Observation]:
        previous, self._newest_link = self._newest_link, bpfinfo.newest_link_id(self._newest_link)
        seen = [self._check_hook(h, previous) for h in self.hooks]
        seen.extend(self._check_rules(m) for m in _RULE_MAPS if self._watch_digests[m])
        return seen

    def _check_hook(self, hook: AttachedHook, newest_before: int) -> Observation:
        seen = self._gone.get(hook.name) or self._inspect(hook)
        if seen.state == "detached" and hook.name not in self._gone:
            bpfinfo.forget_link(hook.link)
            self._gone[hook.name] = seen
            self._gone_after[hook.name] = newest_before
        if seen.state == "detached":
            # Gone links are searched again on every check: the look-alike may come later.
            return self._impostor(hook) or seen
        return seen

    def _impostor(self, hook: AttachedHook) -> Observation | None:
        """A link of the same kind, not ours, created since our link was last seen, running a
        program of our program's name, whose object has no other program of the family attached:
        a look-alike put in place of the one gone. A copy with several of the family's programs
        attached (their maps shared) is a second instance starting, not a replacement: the
        hook then stays *detached*."""
        family = hook.name.split("/", 1)[0]
        family_progs = {h.prog_name for h in self.hooks if h.name.startswith(family + "/")}
        ours = {h.prog_id for h in self.hooks}
        new = [
            (link, prog)
            for link, prog in bpfinfo.all_links(self._gone_after[hook.name])
            if prog.prog_id not in ours and prog.name in family_progs
        ]
        for link, prog in new:
            if prog.name != hook.prog_name or link.link_type != hook.link_type:
                continue
            same_object = [p for _, p in new if p is prog or p.map_ids & prog.map_ids]
            if len(same_object) == 1:
                return Observation(
                    hook.name,
                    "replaced",
                    f"link {hook.link_id} is gone and link {link.link_id} runs a look-alike "
                    f"{prog.name!r}: program {prog.prog_id} tag {prog.tag}, loaded "
                    f"{hook.prog_id} tag {hook.tag}",
                )
        return None

    def _inspect(self, hook: AttachedHook) -> Observation:
        try:
            link = bpfinfo.link_info(hook.link_fd)
        except bpfinfo.ObjectGone as exc:
            return Observation(hook.name, "detached", f"link is gone ({exc})")
        if link.link_id != hook.link_id:
            return Observation(
                hook.name,
                "detached",
                f"link {hook.link_id} is gone; its descriptor now names link {link.link_id}",
            )
        if link.prog_id != hook.prog_id:
            return Observation(
                hook.name,
                "replaced",
                f"link runs program {link.prog_id}, not the loaded {hook.prog_id}",
            )
        try:
            prog = bpfinfo.prog_info(hook.prog_fd)
        except bpfinfo.ObjectGone as exc:
            return Observation(hook.name, "replaced", f"program is gone ({exc})")
        if prog.prog_id != hook.prog_id or prog.tag != hook.tag:
            return Observation(
                hook.name,
                "replaced",
                f"program {prog.prog_id} tag {prog.tag}, loaded {hook.prog_id} tag {hook.tag}",
            )
        return Observation(hook.name, OK)

    def _check_rules(self, map_name: str) -> Observation:
        name = f"file/{map_name}"
        try:
            now = self._digest_rules(map_name)
        except AuroraError as exc:
            return Observation(name, "altered", f"map cannot be read: {exc}")
        if now == self._watch_digests[map_name]:
            return Observation(name, OK)
        try:
            self.sensor.reload_watch_rules()
            restored = self._digest_rules(map_name) == self._watch_digests[map_name]
        except AuroraError:
            restored = False
        detail = "watched-path map was overwritten from outside; " + (
            "rules written back" if restored else "rules could NOT be written back"
        )
        return Observation(name, "altered", detail)

    def check_pipeline(self, expect_fed: Collection[str]) -> list[Observation]:
        """Rings still fed: a family sent a marker since the last check must have had at least
        that record written into its ring (kernel side; the canary checks the whole way). And
        the process table still knows the sensor itself."""
        now = self.sensor.ring_positions()
        out = []
        for family, position in now.items():
            name = f"ring/{family}"
            if family in expect_fed and self._positions.get(family) == position:
                detail = "nothing written into the ring since the last check, marker included"
                out.append(Observation(name, "stalled", detail))
            else:
                out.append(Observation(name, OK))
        self._positions = now
        pid = os.getpid()
        if self.sensor.table.get(pid) is None:
            detail = f"the sensor's own pid {pid} is missing from the process table"
            out.append(Observation("proctable", "inconsistent", detail))
        else:
            out.append(Observation("proctable", OK))
        return out
