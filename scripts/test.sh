#!/usr/bin/env bash
# Set everything up, then run the full test suite: lint, unit, integration (real Mosquitto,
# InfluxDB 1.x and Modbus TCP started by the fixtures on free loopback ports) and end-to-end.
# Extra arguments go to pytest, e.g. scripts/test.sh tests/unit -k spool
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
bash scripts/typecheck.sh
if [ $# -eq 0 ]; then set -- tests; fi
exec .venv/bin/pytest -q "$@"
