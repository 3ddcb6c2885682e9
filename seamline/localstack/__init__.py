"""Start real Mosquitto, InfluxDB 1.x, Alertmanager and PostgreSQL servers on free loopback ports
with their own config and data directory. Used by the demo and by the integration/e2e test fixtures; never touches a
system-wide service."""

from seamline.localstack.alertmanager import AlertmanagerProcess
from seamline.localstack.influxdb import InfluxdProcess
from seamline.localstack.mosquitto import MosquittoProcess
from seamline.localstack.ports import free_port
from seamline.localstack.postgres import PostgresProcess

__all__ = ["AlertmanagerProcess", "InfluxdProcess", "MosquittoProcess", "PostgresProcess", "free_port"]
