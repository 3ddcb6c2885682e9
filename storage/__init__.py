"""InfluxDB storage: the schema (the one place measurement, tag and field names are written), line
protocol, writers with their retry policy, the InfluxQL client and database initialisation.
Ingest and rules both use it."""
