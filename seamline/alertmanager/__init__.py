"""Prometheus Alertmanager v2, as seamline talks to it: the HTTP client (``client``), the sender
that posts firing and resolved alerts to every peer with retries (``sender``), and the ledger of
what was posted (``ledger``). Shared by rules (which evaluates and posts), notify (which generates
the Alertmanager config and receives its webhooks) and the report (which reads the day's alerts)."""
