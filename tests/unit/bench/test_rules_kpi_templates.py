"""bench.rules_kpi's whole-cluster loader: an enterprise sending a template's lines under its own
identity sends the same series and points as the template, only the enterprise tag differs."""

from __future__ import annotations

from bench.rules_kpi import enterprise_lines, fleet, retagged
from tests.support.line_protocol_oracle import parse_line


def test_a_retagged_enterprise_sends_the_templates_points_under_its_own_identity() -> None:
    master = fleet(150)  # three enterprises of 50 machines
    template, other = master.enterprises[0], master.enterprises[2]
    lines = enterprise_lines(0, template, idle_reasons=False)
    body = retagged("\n".join(lines), template.id, other.id)
    copied = body.split("\n")
    assert len(copied) == len(lines) > 50 * 60  # every machine's aggregates and events, and the energy assets
    for a, b in zip(lines, copied, strict=True):
        pa, pb = parse_line(a), parse_line(b)
        assert pb.tags == {**pa.tags, "enterprise": other.id}
        assert (pb.measurement, pb.fields, pb.ts) == (pa.measurement, pa.fields, pa.ts)
    # its own machines and assets, as the master data names them
    assert {parse_line(x).tags["asset"] for x in copied} == (
        {m for line in other.sites[0].lines for m in line.machines} | {a.id for a in other.sites[0].energy_assets})
    assert retagged("\n".join(lines), template.id, template.id) == "\n".join(lines)
