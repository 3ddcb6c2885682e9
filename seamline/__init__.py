"""seamline: the command line and the local service runners (Mosquitto, InfluxDB) used by the
demo and the test fixtures. The pipeline itself lives in the top-level component packages."""

__version__ = "0.1.0"
