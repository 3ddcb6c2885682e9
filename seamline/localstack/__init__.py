"""Start real Mosquitto and InfluxDB 1.x servers on free loopback ports with their own config and
data directory. Used by the demo and by the integration/e2e test fixtures; never touches a
system-wide service."""

from seamline.localstack.influxdb import InfluxdProcess
from seamline.localstack.mosquitto import MosquittoProcess
from seamline.localstack.ports import free_port

__all__ = ["InfluxdProcess", "MosquittoProcess", "free_port"]
