"""The sensor's guard: hook health (are our BPF programs still attached, and the ones we loaded?),
end-to-end canaries per event family, and tamper observations (signals, ptrace and memory writes
aimed at the sensor, its files changed on disk, isolation rules removed, an abnormal previous run),
reported in every heartbeat and spooled as events for the collector's tamper rules.

Linux checks live in ``hooks_linux``/``probe_linux``; the Windows sensor's callback-health checks
(``IOCTL_QUERY_CALLBACK_HEALTH``) will plug in beside them behind the same :class:`Guard`.
"""

from aurora.sensor.guard.guard import Guard

__all__ = ["Guard"]
