"""The Windows sensor: event-log channels and ETW turned into OCSF, WFP isolation, kill, triage
targets, guard checks and the service; everything but the OS calls is tested on recorded data.

The normaliser (``normalise``, ``eventxml``) is shared with offline hunting. See
docs/sensor-windows.md.
"""

from aurora.sensor.windows.eventxml import EventXmlError, record_from_xml
from aurora.sensor.windows.normalise import normalise_record

__all__ = ["EventXmlError", "normalise_record", "record_from_xml"]
