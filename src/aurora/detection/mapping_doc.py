"""Render the field-mapping data file as markdown (docs/field-mapping.md).

Run ``python -m aurora.detection.mapping_doc > docs/field-mapping.md``; a test fails when the
committed page differs from what this renders, so the docs cannot drift from the data.
"""

from __future__ import annotations

import sys

from aurora.ocsf.field_mapping import MAPPING_FILE, Category, FieldMapping, default_mapping


def _category_table(cats: list[Category], windows: bool) -> list[str]:
    out = []
    for c in cats:
        source = f"{c.channel}, event {', '.join(map(str, c.event_ids))}" if windows else ""
        activities = ", ".join(map(str, c.activity_ids))
        head = f"### {c.name}\n\nOCSF class_uid {c.class_uid}, activity_id {activities}"
        out.append(head + (f"; source: {source}" if source else "") + "\n")
        if not c.fields:
            out.append("All fields under `unmapped.<Field>`.\n")
            continue
        out.append("| Sigma field | OCSF path(s) |\n|---|---|")
        for name, paths in c.fields.items():
            src = f" (from `{c.raw_fields[name]}`)" if name in c.raw_fields else ""
            out.append(f"| `{name}` | " + ", ".join(f"`{p}`" for p in paths) + src + " |")
        out.append("")
    return out


def render(mapping: FieldMapping | None = None) -> str:
    m = mapping or default_mapping()
    lines = [
        "# Field mapping: Sigma onto OCSF 1.8.0",
        "",
        f"Generated from `src/aurora/ocsf/mappings/{MAPPING_FILE.name}` by "
        "`python -m aurora.detection.mapping_doc`; do not edit by hand.",
        "",
        "Each Sigma logsource maps onto OCSF classes and activities, and each Sigma field onto an",
        "OCSF path. The detection engine routes every event only to the rules of its logsource",
        "and reads a rule's field at the path listed here. A field that is not listed is read",
        "from `unmapped.<Field>`: Windows events keep every raw EventData/System field there",
        "(System fields as `EventID`, `Channel`, `Provider_Name`, `Computer`, ...; names with",
        "spaces also without them), and the Linux sensor puts what OCSF cannot express there.",
        "Where a field lists several paths, rules read the first and the Windows normaliser",
        "fills all of them.",
        "",
        "## Windows services",
        "",
        "Rules with a Sigma `service` see every event of these channels.",
        "",
        "| Sigma service | Channel(s) |",
        "|---|---|",
    ]
    for service, channels in m.windows_services.items():
        lines.append(f"| `{service}` | " + "<br>".join(channels) + " |")
    lines += ["", "## Windows categories", ""]
    lines += _category_table(m.windows_categories, True)
    lines += ["## Linux categories (Aurora sensor)", ""]
    lines += _category_table(m.linux_categories, False)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
