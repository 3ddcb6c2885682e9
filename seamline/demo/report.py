"""Print the demo summary as a table for people (the JSON form is for machines)."""

from __future__ import annotations

from typing import Any


def table(summary: dict[str, Any]) -> str:
    s = summary
    sew = s["sewing"]
    rows = [
        ("samples produced (nodes + energy pollers)", s["produced"]),
        ("  sewing samples produced by nodes", sew["produced"]),
        ("  lost at nodes by injected Wi-Fi faults", sew["lost_at_node_by_injected_faults"]),
        ("  reached the gateways", sew["reached_gateways"]),
        ("  stored (inside 60 s edge aggregates)", sew["stored_in_aggregates"]),
        ("  energy samples published", s["energy_samples_published"]),
        ("stored", s["stored"]),
        ("quarantined (rogue client upstream)", f'{s["quarantined"]} of {s["quarantine"]["rogue_sent"]} sent'),
        ("lost in the pipeline", s["lost"]),
        ("duplicates", s["duplicates"]),
        ("upstream messages stored / assets", f'{s["upstream"]["messages_stored"]} / {s["upstream"]["assets"]}'),
    ]
    for kind, v in s["by_kind"].items():
        rows.append((f"  {kind}: devices polled / samples stored", f'{v["devices"]} / {v["samples_stored"]}'))
    width = max(len(r[0]) for r in rows) + 2
    lines = ["", "seamline demo — simulated cluster end to end", "=" * (width + 16)]
    lines += [f"{label:<{width}}{value!s:>16}" for label, value in rows]
    for section in ("kpis", "capacity", "allocations"):
        if section in s:
            lines += ["", section, "-" * len(section), *_section(s[section])]
    lines += ["", "timings (s): " + ", ".join(f"{k} {v}" for k, v in s["timings_s"].items())]
    return "\n".join(lines)


def _section(value: Any) -> list[str]:
    if isinstance(value, dict) and "table" in value:
        return list(value["table"])
    return [str(value)]
