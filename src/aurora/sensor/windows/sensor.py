"""The live Windows event source: the Sysmon, Security, System, PowerShell and Defender channels
(EvtSubscribe) plus the ETW session (Kernel-Process, DNS-Client, PowerShell 4104, AMSI).

Each channel and the ETW session is a capability of its own: a channel that does not exist on
this host (Sysmon not installed) is reported and the rest run. Losses from every part (record id
gaps, stale subscriptions, ETW lost events and buffers, a full hand-off queue) are drop counts.
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from typing import Any

from aurora.errors import AuroraError
from aurora.sensor.source import Capability
from aurora.sensor.windows.channels import CHANNELS, ChannelSubscriber
from aurora.sensor.windows.etw_decode import decode
from aurora.sensor.windows.etw_normalise import normalise_etw
from aurora.sensor.windows.etw_session import EtwSession
from aurora.sensor.windows.events import channel_events

log = logging.getLogger(__name__)


class WindowsSensor:
    def __init__(
        self,
        state_dir: Path,
        channels: tuple[str, ...] = CHANNELS,
        etw: EtwSession | None = None,
        subscribers: list[ChannelSubscriber] | None = None,
    ) -> None:
        self.hostname = socket.gethostname()
        self.subscribers = subscribers or [ChannelSubscriber(c, state_dir) for c in channels]
        self.etw = etw if etw is not None else EtwSession()
        self._caps: list[Capability] = []
        self._live: list[ChannelSubscriber] = []
        self._etw_live = False
        self.undecodable = 0

    def start(self) -> None:
        for sub in self.subscribers:
            try:
                sub.start()
            except (AuroraError, OSError) as exc:
                self._caps.append(Capability(f"channel:{sub.channel}", False, str(exc)))
                continue
            self._live.append(sub)
            self._caps.append(Capability(f"channel:{sub.channel}", True))
        try:
            self.etw.start()
            self._etw_live = True
            for provider, reason in self.etw.enabled.items():
                self._caps.append(Capability(f"etw:{provider}", not reason, reason))
        except (AuroraError, OSError) as exc:
            self._caps.append(Capability("etw", False, str(exc)))
        if not self._live and not self._etw_live:
            raise AuroraError(
                "no Windows event source could start: "
                + "; ".join(f"{c.name}: {c.reason}" for c in self._caps if not c.loaded)
            )

    def poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        # Channels are pulled without waiting; the wait, if any, is spent on the last one.
        for i, sub in enumerate(self._live):
            wait = timeout_ms if i == len(self._live) - 1 and not self._etw_live else 0
            for record in sub.poll(wait):
                out.extend(channel_events(record))
        if self._etw_live:
            for rec in self.etw.drain():
                try:
                    event = normalise_etw(decode(rec), self.hostname)
                except AuroraError as exc:
                    self.undecodable += 1
                    log.debug("ETW record skipped: %s", exc)
                    continue
                if event is not None:
                    out.append(event)
            if not out:
                time.sleep(min(timeout_ms, 50) / 1000)
        return out

    @property
    def etw_live(self) -> bool:
        """Whether the ETW session started (the guard then checks it is still running)."""
        return self._etw_live

    def capabilities(self) -> list[Capability]:
        return list(self._caps)

    def drop_counts(self) -> dict[str, int]:
        drops = {f"channel:{s.channel}": s.lost for s in self._live}
        if self._etw_live:
            drops["etw"] = self.etw.os_losses() + self.etw.rt_lost + self.etw.queue_full_losses
        drops["undecodable"] = self.undecodable + sum(s.undecodable for s in self._live)
        return drops

    def stop(self) -> None:
        for sub in self._live:
            sub.stop()
        self._live = []
        if self._etw_live:
            self.etw.stop()
            self._etw_live = False
