"""Simulated ESP32-class sewing-machine nodes: operator behaviour, motor current, andon, MQTT uplink."""
