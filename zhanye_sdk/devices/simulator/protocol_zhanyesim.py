"""pyserial URL handler for in-process simulators.

URL format: ``zhanyesim://<name>`` where ``<name>`` was given to
:func:`register_simulator`. pyserial finds this module through
``serial.protocol_handler_packages`` (``zhanye_sdk.devices.transport`` adds this
package). An unplugged simulator makes ``open`` and ``read`` raise
``SerialException``, like a USB device that went away; a port opened before a
replug stays dead, like the old ``/dev/ttyUSB0`` handle after re-enumeration.
(The scheme has no hyphen because pyserial maps ``<scheme>`` to a module name.)
"""

from __future__ import annotations

import threading
import time
from typing import Any

import serial
from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from zhanye_sdk.devices.simulator.modem import ModemSimulator

__all__ = ["Serial", "register_simulator", "unregister_simulator"]

# The one process-wide table pyserial's URL lookup needs; the name is the URL host.
_REGISTRY: dict[str, ModemSimulator] = {}
_REGISTRY_LOCK = threading.Lock()


def register_simulator(name: str, simulator: ModemSimulator) -> str:
    """Make ``simulator`` reachable as ``zhanyesim://<name>``; returns the URL."""
    with _REGISTRY_LOCK:
        _REGISTRY[name] = simulator
    return f"zhanyesim://{name}"


def unregister_simulator(name: str) -> None:
    """Forget ``name``."""
    with _REGISTRY_LOCK:
        _REGISTRY.pop(name, None)


class Serial(SerialBase):  # type: ignore[misc]
    """A serial port whose other end is a :class:`ModemSimulator`."""

    is_open: bool
    portstr: str
    _timeout: float | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._sim: ModemSimulator | None = None
        self._generation = -1
        self._cancelled = False
        super().__init__(*args, **kwargs)

    def open(self) -> None:
        if self.is_open:
            raise SerialException("Port is already open.")
        name = self.from_url(self.portstr)
        with _REGISTRY_LOCK:
            sim = _REGISTRY.get(name)
        if sim is None:
            raise SerialException(f"no simulator registered as {name!r}")
        with sim.lock:
            if not sim.plugged:
                raise SerialException(f"could not open port zhanyesim://{name}: device unplugged")
            self._generation = sim.generation
        self._sim = sim
        self.is_open = True

    def from_url(self, url: str) -> str:
        if not url.lower().startswith("zhanyesim://"):
            raise SerialException(f"expected a URL like zhanyesim://name, got {url!r}")
        return url[len("zhanyesim://") :].strip("/")

    def _reconfigure_port(self) -> None:
        pass

    def close(self) -> None:
        self.is_open = False
        self._sim = None

    def _live(self) -> ModemSimulator:
        sim = self._sim
        if not self.is_open or sim is None:
            raise PortNotOpenError()
        if not sim.plugged or sim.generation != self._generation:
            raise SerialException("device disconnected (unplugged)")
        return sim

    @property
    def in_waiting(self) -> int:
        sim = self._live()
        due = sim.next_due()
        return 1 if due is not None and due <= sim.clock() else 0

    def read(self, size: int = 1) -> bytes:
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        sim = self._live()
        with sim.changed:
            while True:
                self._live()
                data = sim.read(size)
                if data:
                    return data
                if self._cancelled:
                    self._cancelled = False
                    return b""
                remaining = 0.02 if deadline is None else deadline - time.monotonic()
                if remaining <= 0:
                    return b""
                # Wake up at least every 20 ms so ring trains and stalls advance.
                sim.changed.wait(min(remaining, 0.02))

    def write(self, data: bytes) -> int:
        sim = self._live()
        sim.receive_data(bytes(data))
        return len(data)

    def reset_input_buffer(self) -> None:
        self._live()

    def reset_output_buffer(self) -> None:
        self._live()

    def cancel_read(self) -> None:
        sim = self._sim
        if sim is not None:
            with sim.changed:
                self._cancelled = True
                sim.changed.notify_all()

    def cancel_write(self) -> None:
        pass

    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return False

    @property
    def cd(self) -> bool:
        return True

    def _update_rts_state(self) -> None:
        pass

    def _update_dtr_state(self) -> None:
        pass

    def _update_break_state(self) -> None:
        pass


def _ensure_registered() -> None:
    package = __name__.rpartition(".")[0]
    if package not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(package)


_ensure_registered()
