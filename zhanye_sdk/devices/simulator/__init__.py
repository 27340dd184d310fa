"""A modem simulator that speaks the desk phone's AT dialect (library and program).

Use it in-process (``zhanyesim://<name>`` after :func:`register_simulator`), over a
real pty (:class:`PtyServer`) or over TCP on 127.0.0.1 (:class:`TcpServer`); the
program ``zhanye-modem-sim`` does the last two with a control line protocol.
"""

from __future__ import annotations

from zhanye_sdk.devices.simulator.control import apply_command
from zhanye_sdk.devices.simulator.modem import (
    PROFILES,
    Faults,
    ModemSimulator,
    SentSms,
    SimProfile,
    StoredSms,
)
from zhanye_sdk.devices.simulator.protocol_zhanyesim import (
    register_simulator,
    unregister_simulator,
)
from zhanye_sdk.devices.simulator.servers import PtyServer, TcpServer

__all__ = [
    "PROFILES",
    "Faults",
    "ModemSimulator",
    "PtyServer",
    "SentSms",
    "SimProfile",
    "StoredSms",
    "TcpServer",
    "apply_command",
    "register_simulator",
    "unregister_simulator",
]
