"""Ingest: MQTT shared subscription -> validation -> InfluxDB, acknowledged only after durable writes."""
