"""Byte transports for the modem: a pyserial port owned by one worker thread.

Any URL ``serial.serial_for_url`` understands works: ``/dev/ttyUSB0``,
``socket://127.0.0.1:7000``, ``rfc2217://host:port``, ``loop://`` and the in-process
simulator's ``zhanyesim://<name>``. pyserial calls block, so the port is opened,
read, written and closed by one dedicated worker thread; bytes cross
into the event loop through a memory stream, writes go out through a queue the
thread drains between short reads. The event loop never blocks on the port.

Errors from the port (unplugged device, closed socket) end the transport: the next
:meth:`SerialTransport.receive` raises :class:`DeviceDisconnected`.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
import serial

from zhanye_sdk.devices.at_errors import DeviceDisconnected

__all__ = ["ByteTransport", "SerialTransport", "open_serial"]

# Let serial_for_url find the simulator's zhanyesim:// handler (a module name only:
# pyserial imports it lazily, when such a URL is opened).
if "zhanye_sdk.devices.simulator" not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append("zhanye_sdk.devices.simulator")


class ByteTransport(Protocol):
    """What the modem service needs from a transport."""

    async def receive(self) -> bytes:
        """The next bytes from the device; raises DeviceDisconnected when it is gone."""

    def send_nowait(self, data: bytes) -> None:
        """Queue bytes for the device (never blocks)."""


class SerialTransport:
    """A pyserial port run by one worker thread; use :func:`open_serial`."""

    def __init__(self, url: str, options: dict[str, Any], read_timeout: float) -> None:
        self.url = url
        self._options = options
        self._read_timeout = read_timeout
        self._writes: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._stop = threading.Event()
        send, receive = anyio.create_memory_object_stream[bytes | BaseException](math.inf)
        self._incoming_send = send
        self._incoming = receive
        self._opened = anyio.Event()
        self._error: BaseException | None = None
        self._open_error: BaseException | None = None
        self._token: anyio.lowlevel.EventLoopToken | None = None
        self._port: Any = None

    async def receive(self) -> bytes:
        """The next bytes read from the port."""
        if self._error is not None:
            raise DeviceDisconnected(f"{self.url}: {self._error}")
        try:
            item = await self._incoming.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError) as exc:
            raise DeviceDisconnected(f"{self.url}: port closed") from exc
        if isinstance(item, BaseException):
            self._error = item
            raise DeviceDisconnected(f"{self.url}: {item}") from item
        return item

    def send_nowait(self, data: bytes) -> None:
        """Queue ``data``; the worker thread writes it."""
        if self._error is not None:
            raise DeviceDisconnected(f"{self.url}: {self._error}")
        self._writes.put(bytes(data))
        port = self._port
        if port is not None:
            # Wake the worker from its read so the write goes out now. pyserial's
            # cancel_read is meant to be called from another thread (a pipe on POSIX);
            # URL handlers that cannot cancel a read raise NotImplementedError, and then
            # the write simply waits for the read timeout.
            try:
                port.cancel_read()
            except (AttributeError, NotImplementedError, OSError, serial.SerialException):
                pass

    async def send(self, data: bytes) -> None:
        """Queue ``data`` (async spelling of :meth:`send_nowait`)."""
        self.send_nowait(data)

    def _deliver(self, item: bytes | BaseException) -> None:
        try:
            self._incoming_send.send_nowait(item)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    def _post(self, item: bytes | BaseException) -> bool:
        try:
            anyio.from_thread.run_sync(self._deliver, item, token=self._token)
        except Exception:  # the event loop is gone
            return False
        return True

    def _post_opened(self) -> None:
        try:
            anyio.from_thread.run_sync(self._opened.set, token=self._token)
        except Exception:  # the event loop is gone
            self._stop.set()

    def _worker(self) -> None:
        try:
            port = serial.serial_for_url(
                self.url, timeout=self._read_timeout, write_timeout=5, **self._options
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            self._open_error = exc
            self._post_opened()
            return
        self._port = port
        try:
            self._post_opened()
            while not self._stop.is_set():
                while True:
                    try:
                        data = self._writes.get_nowait()
                    except queue.Empty:
                        break
                    port.write(data)
                waiting = port.in_waiting
                chunk = bytearray(port.read(waiting if waiting > 0 else 1))
                # Gather what else is there before crossing into the event loop
                # (socket:// reports "readable", not a count, so this may take turns).
                while chunk and len(chunk) < 4096:
                    waiting = port.in_waiting
                    if waiting <= 0:
                        break
                    chunk += port.read(waiting)
                if chunk and not self._post(bytes(chunk)):
                    return
        except (serial.SerialException, OSError) as exc:
            self._post(exc)
        finally:
            self._port = None
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass


@asynccontextmanager
async def open_serial(
    url: str,
    *,
    baudrate: int = 115200,
    rtscts: bool = False,
    xonxoff: bool = False,
    read_timeout: float = 0.01,
    open_timeout: float = 5.0,
) -> AsyncIterator[SerialTransport]:
    """Open ``url`` in its worker thread and yield the transport; closes it on exit.

    Flow control is off unless asked for. Raises :class:`DeviceDisconnected` if the
    port can not be opened.
    """
    options: dict[str, Any] = {}
    if "://" not in url or url.startswith(("rfc2217://", "loop://")):
        options = {"baudrate": baudrate, "rtscts": rtscts, "xonxoff": xonxoff, "dsrdtr": False}
    transport = SerialTransport(url, options, read_timeout)
    transport._token = anyio.lowlevel.current_token()
    thread = threading.Thread(target=transport._worker, name=f"serial {url}", daemon=True)
    thread.start()
    try:
        try:
            with anyio.fail_after(open_timeout):
                await transport._opened.wait()
        except TimeoutError:
            raise DeviceDisconnected(f"{url}: did not open within {open_timeout:g} s") from None
        if transport._open_error is not None:
            raise DeviceDisconnected(f"{url}: {transport._open_error}")
        yield transport
    finally:
        transport._stop.set()
        # Give the thread a moment to close the port; pyserial's socket:// close
        # sleeps 0.3 s, which the daemon thread may finish on its own.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(thread.join, 0.1)
