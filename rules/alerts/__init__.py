"""Alert rules: YAML rules over telemetry and KPIs, a pure lifecycle, built-in rules, and the
evaluator that posts firing alerts to Alertmanager through :mod:`seamline.notify` (see README.md)."""
