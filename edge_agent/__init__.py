"""The edge agent that runs on factory gateways: read devices, derive state, spool, publish upstream."""
