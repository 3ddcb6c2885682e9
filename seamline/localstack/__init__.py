"""Start real Mosquitto, InfluxDB 1.x and Alertmanager servers on free loopback ports with their own config and
data directory. Used by the demo and by the integration/e2e test fixtures; never touches a
system-wide service."""

from seamline.localstack.alertmanager import AlertmanagerProcess
from seamline.localstack.influxdb import InfluxdProcess
from seamline.localstack.mosquitto import MosquittoProcess
from seamline.localstack.ports import free_port

__all__ = ["AlertmanagerProcess", "InfluxdProcess", "MosquittoProcess", "free_port"]
