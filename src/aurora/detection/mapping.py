"""The Sigma -> OCSF field mapping as the detection engine sees it.

The data and its loader live in :mod:`aurora.ocsf.field_mapping` because the normalisers fill the
same paths and may not import detection; this module keeps detection's own import path.
"""

from aurora.ocsf.field_mapping import (
    MAPPING_FILE,
    SYSMON_CHANNEL,
    Category,
    FieldMapping,
    MappingError,
    Route,
    default_mapping,
    parse_mapping,
)

__all__ = [
    "MAPPING_FILE",
    "SYSMON_CHANNEL",
    "Category",
    "FieldMapping",
    "MappingError",
    "Route",
    "default_mapping",
    "parse_mapping",
]
