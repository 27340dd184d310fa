"""Carry a :class:`ModemSimulator`'s bytes over a real pty or a TCP socket.

Each server runs one thread that moves bytes both ways and lets the simulator's
time pass. Unplug and replug behave like USB: the pty is closed (the driver's reads
fail) and a new one appears behind the same stable ``link`` path on replug; the TCP
server drops the client and refuses new ones while unplugged.

``PtyServer.url``: the link path (e.g. ``/tmp/x/ttyZY0``), for ``serial_for_url``.
``TcpServer.url``: ``socket://127.0.0.1:<port>`` (only ever bound to 127.0.0.1).
"""

from __future__ import annotations

import abc
import contextlib
import os
import select
import socket
import tempfile
import threading
import tty
from types import TracebackType
from typing import Self

from zhanye_sdk.devices.simulator.modem import ModemSimulator

__all__ = ["PtyServer", "TcpServer"]

_POLL = 0.01


class _Server(abc.ABC):
    def __init__(self, sim: ModemSimulator) -> None:
        self.sim = sim
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Start the server thread."""
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and close everything."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @abc.abstractmethod
    def _run(self) -> None:
        """Serve until stopped (the server thread)."""

    @abc.abstractmethod
    def _close(self) -> None:
        """Release the pty or the socket."""


class PtyServer(_Server):
    """The simulator behind a pseudo-terminal; the driver opens :attr:`url`.

    Args:
        sim: the simulator.
        link: stable path of a symlink to the current pty slave (a temporary one when
            None); it disappears while unplugged and points to a new pty after replug.
    """

    def __init__(self, sim: ModemSimulator, *, link: str | None = None) -> None:
        super().__init__(sim)
        if link is None:
            self._tmpdir: str | None = tempfile.mkdtemp(prefix="zhanye-sim-")
            link = os.path.join(self._tmpdir, "ttyZY0")
        else:
            self._tmpdir = None
        self.link = link
        self.slave_path = ""
        self._master = -1
        self._slave = -1
        self._generation = -1
        self._lock = threading.Lock()
        self._open_pty()

    @property
    def url(self) -> str:
        """The path to give pyserial."""
        return self.link

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.slave_path = os.ttyname(slave)
        tmp = self.link + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(self.slave_path, tmp)
        os.replace(tmp, self.link)
        self._generation = self.sim.generation

    def _close_pty(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.link)
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self._step()

    def _step(self) -> None:
        sim = self.sim
        if sim.generation != self._generation:
            if self._master >= 0:
                self._close_pty()
            if sim.plugged:
                self._open_pty()
            else:
                self._generation = sim.generation
        if self._master < 0:
            self._stop.wait(_POLL)
            return
        ready, _, _ = select.select([self._master], [], [], _POLL)
        if ready:
            try:
                data = os.read(self._master, 4096)
            except OSError:
                data = b""
            if data:
                sim.receive_data(data)
        out = sim.read(4096)
        while out:
            try:
                os.write(self._master, out)
            except BlockingIOError:
                self._stop.wait(0.001)
                continue
            except OSError:
                break
            out = sim.read(4096)

    def _close(self) -> None:
        with self._lock:
            self._close_pty()
        if self._tmpdir is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self._tmpdir)


class TcpServer(_Server):
    """The simulator behind a TCP socket on 127.0.0.1; one client at a time (a new
    client replaces the old one).

    Args:
        sim: the simulator.
        port: the port to listen on (0: any free port; see :attr:`port`).
    """

    def __init__(self, sim: ModemSimulator, *, port: int = 0) -> None:
        super().__init__(sim)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(4)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._client: socket.socket | None = None
        self._generation = sim.generation

    @property
    def url(self) -> str:
        """The pyserial URL of the simulator."""
        return f"socket://127.0.0.1:{self.port}"

    def _drop_client(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.close()
            self._client = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._step()

    def _step(self) -> None:
        sim = self.sim
        if sim.generation != self._generation:
            self._generation = sim.generation
            self._drop_client()
        watch: list[socket.socket] = [self._listener]
        if self._client is not None:
            watch.append(self._client)
        ready, _, _ = select.select(watch, [], [], _POLL)
        if self._listener in ready:
            with contextlib.suppress(BlockingIOError):
                conn, _ = self._listener.accept()
                if not sim.plugged:
                    conn.close()
                else:
                    self._drop_client()
                    conn.setblocking(True)
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self._client = conn
        client = self._client
        if client is None:
            return
        if client in ready:
            try:
                data = client.recv(4096)
            except OSError:
                data = b""
            if not data:
                self._drop_client()
                return
            sim.receive_data(data)
        out = sim.read(4096)
        while out and self._client is not None:
            try:
                self._client.sendall(out)
            except OSError:
                self._drop_client()
                return
            out = sim.read(4096)

    def _close(self) -> None:
        self._drop_client()
        with contextlib.suppress(OSError):
            self._listener.close()
