"""The Windows Defender bridge, a reference plugin shipped with Aurora: it reads Microsoft
Defender Antivirus's event channel (live, or recorded EVTX replayed) and emits its detections and
protection-tamper events as OCSF Detection Findings (2004)."""
