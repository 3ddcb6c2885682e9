#!/usr/bin/env bash
# Set everything up, then run the main job: a simulated cluster end to end (stubs -> edge agents
# -> broker -> ingest -> InfluxDB -> ...). Extra arguments go to `seamline demo`, e.g. --quick, --json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
exec .venv/bin/seamline demo "$@"
