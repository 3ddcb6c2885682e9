"""Serve simulated energy devices over Modbus TCP (pymodbus 3.16 SimDevice/SimData API).

One TCP server per device (real devices each have their own IP), all hosted by one asyncio loop
on one background thread. On every read the device is advanced to the simulated clock and its
register image rewritten when its state changed, so values are as fresh as the device's refresh
(every read by default, see ``refresh_s`` in devices.py).

Comms faults: ``SILENT`` keeps the TCP connection but drops every response (the client times
out); ``CLOSED`` shuts the listener and closes connections (refused until restored).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from seamline.firmware_stubs.energy.devices import _Base as EnergyDevice
from seamline.firmware_stubs.energy.sim_clock import Clock

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0  # listeners bind in ms; this only guards against a wedged loop
STOP_TIMEOUT_S = 10.0


class CommsFault(enum.Enum):
    SILENT = "silent"
    CLOSED = "closed"


@dataclass
class Endpoint:
    device: EnergyDevice
    port: int
    host: str = "127.0.0.1"
    framer: FramerType = FramerType.SOCKET
    fault: CommsFault | None = None
    requests: int = 0
    dropped_responses: int = 0
    image_errors: int = 0
    _server: ModbusTcpServer | None = field(default=None, repr=False)


class EnergyStubHost:
    """Hosts devices on loopback ports; ``start()`` spawns the loop thread, ``stop()`` joins it."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._endpoints: dict[str, Endpoint] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def add(
        self, device: EnergyDevice, *, port: int, host: str = "127.0.0.1", framer: FramerType = FramerType.SOCKET
    ) -> Endpoint:
        if device.name in self._endpoints:
            raise ValueError(f"device {device.name!r} added twice")
        ep = Endpoint(device=device, port=port, host=host, framer=framer)
        self._endpoints[device.name] = ep
        return ep

    @property
    def endpoints(self) -> Sequence[Endpoint]:
        return list(self._endpoints.values())

    def endpoint(self, name: str) -> Endpoint:
        return self._endpoints[name]

    def _make_server(self, ep: Endpoint) -> ModbusTcpServer:
        dev = ep.device
        dev.advance_to(self._clock.now_ms())
        image = dev.image()
        served: list[list[int]] = [image]  # the image last copied into the server's registers

        async def refresh(
            _fc: int, start: int, _addr: int, _count: int, regs: list[int], _set: list[int] | list[bool] | None
        ) -> ExcCodes | None:
            ep.requests += 1
            try:
                dev.advance_to(self._clock.now_ms())
                img = dev.image()
            except Exception:  # a physics/encoding bug must show as a device failure, not kill the loop
                ep.image_errors += 1
                log.exception("%s: building the register image failed", dev.name)
                return ExcCodes.DEVICE_FAILURE
            if img is not served[0]:  # the device caches its image per state: same object, same values
                regs[: len(img)] = img
                served[0] = img
            return None

        def drop_when_silent(sending: bool, data: bytes) -> bytes:
            if sending and ep.fault is CommsFault.SILENT:
                ep.dropped_responses += 1
                return b""
            return data

        sim = SimDevice(
            id=dev.unit_id,
            simdata=[SimData(address=dev.base_address, values=list(image), datatype=DataType.REGISTERS)],
            action=refresh,
        )
        return ModbusTcpServer(sim, address=(ep.host, ep.port), framer=ep.framer, trace_packet=drop_when_silent)

    async def _listen(self, ep: Endpoint) -> None:
        ep._server = self._make_server(ep)
        await ep._server.serve_forever(background=True)

    async def _close(self, ep: Endpoint) -> None:
        if ep._server is not None:
            await ep._server.shutdown()  # type: ignore[no-untyped-call]
            ep._server = None

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None, "start() first"
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=START_TIMEOUT_S)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="energy-stubs", daemon=True)
        self._thread.start()
        for ep in self._endpoints.values():
            self._run(self._listen(ep))

    def set_comms_fault(self, name: str, fault: CommsFault | None) -> None:
        """Inject (or clear, with None) a comms fault on device ``name``."""
        ep = self._endpoints[name]
        previous, ep.fault = ep.fault, fault
        if fault is CommsFault.CLOSED and previous is not CommsFault.CLOSED:
            self._run(self._close(ep))
        elif previous is CommsFault.CLOSED and fault is not CommsFault.CLOSED:
            self._run(self._listen(ep))

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        for ep in self._endpoints.values():
            try:
                self._run(self._close(ep))
            except Exception:  # keep closing the others; the loop goes away below anyway
                log.exception("closing %s failed", ep.device.name)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=STOP_TIMEOUT_S)
        self._loop.close()
        self._loop, self._thread = None, None
