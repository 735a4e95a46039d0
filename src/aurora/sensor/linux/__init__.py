"""The Linux eBPF sensor: BPF objects from bpf/, loaded through libbpf, normalised to OCSF."""

from aurora.sensor.linux.sensor import LinuxSensor

__all__ = ["LinuxSensor"]
