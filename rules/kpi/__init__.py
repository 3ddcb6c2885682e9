"""Pure KPI formulas, one module per concept. Every KPI returns a :class:`rules.kpi.result.KpiResult`."""
