#!/usr/bin/env bash
# Set up everything seamline needs on a Debian/Ubuntu machine, as root (or with sudo available):
# Debian packages (Mosquitto, NATS server (the clustered-broker tests), InfluxDB 1.x, Prometheus Alertmanager with amtool, SQLite, PostgreSQL 15
# binaries for the rules' HA tests, iproute2 + nftables for their network namespaces, Python venv, Chromium and
# Noto CJK fonts for the report's browser test) and the project's virtualenv.
# Idempotent: a second run only checks. Used by scripts/demo.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(mosquitto nats-server mosquitto-clients influxdb influxdb-client prometheus-alertmanager sqlite3 postgresql-15 iproute2 nftables
  python3 python3-venv python3-dev gcc openssl curl
  chromium fonts-noto-cjk)  # the report's browser test: Debian's Chromium, CJK glyphs for the Chinese pages

need_apt=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PY="${SEAMLINE_PYTHON:-python3}"
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' \
  || { echo "setup: seamline needs Python >= 3.11 (set SEAMLINE_PYTHON)"; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.seamline-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing seamline and its pinned dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v -i warning || true
  .venv/bin/python -m pip install -q -e '.[dev]' 2>&1 | grep -v -i warning || true
  .venv/bin/python -c 'import seamline, paho.mqtt, influxdb_client, pymodbus, apprise, aiosmtpd, jinja2, playwright'
  touch "$stamp"
fi
echo "setup: ok ($(.venv/bin/python --version), $(mosquitto -h 2>/dev/null | head -1 || true), $(influxd version 2>/dev/null || true), alertmanager $(prometheus-alertmanager --version 2>&1 | head -1 | awk '{print $3}' || true))"
