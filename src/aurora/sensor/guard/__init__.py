"""Home of the sensor's guard: hook health (are our BPF programs / ETW sessions and the Sysmon
driver's callbacks still attached?) and tamper resistance (detect and report attempts to stop,
unload or blind the sensor).

Empty on purpose: issue 13 (tamper resistance, kernel-hook health; DESIGN.md ``guard``)
builds it. It reads hook state through :mod:`aurora.sensor.platform`, so each OS's checks sit in
that OS's platform module.
"""
