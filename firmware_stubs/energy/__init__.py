"""Green-energy devices served over Modbus TCP: SunSpec PV inverter, battery, meter, met station,
and a wind turbine with a vendor register map. Physics modules are pure; ``server`` does the I/O."""
