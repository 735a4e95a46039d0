"""The Windows sensor: today its normaliser (event records -> OCSF), shared with offline hunting.

The live event source (ETW through ctypes, the Sysmon channel through EvtSubscribe) lands here with
issue 14, beside ``normalise`` and ``eventxml`` which already turn its records into OCSF.
"""

from aurora.sensor.windows.eventxml import EventXmlError, record_from_xml
from aurora.sensor.windows.normalise import normalise_record

__all__ = ["EventXmlError", "normalise_record", "record_from_xml"]
