"""Windows event records -> OCSF 1.8.0, shared by the Windows sensor and offline hunting."""

from aurora.ocsf.windows.normalise import normalise_record
from aurora.ocsf.windows.xml import EventXmlError, record_from_xml

__all__ = ["EventXmlError", "normalise_record", "record_from_xml"]
