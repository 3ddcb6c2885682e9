"""Simulated device firmware: sewing-machine sensor nodes (MQTT) and green-energy equipment (Modbus TCP)."""
