"""Grafana dashboards and data sources as code."""
