"""Read a service's Prometheus ``/metrics`` in integration tests."""

from __future__ import annotations

import urllib.request


def scrape(port: int) -> dict[str, float]:
    """Every sample on ``127.0.0.1:port/metrics`` as ``{'name{labels}': value}``; ``{}`` while the
    endpoint does not answer (a service still starting, or stopped)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out
