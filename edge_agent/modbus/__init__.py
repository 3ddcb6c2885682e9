"""Modbus TCP / RTU-over-TCP poller for SunSpec and register-map devices; see source.ModbusSource."""
