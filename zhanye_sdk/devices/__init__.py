"""Device drivers: the USB GSM desk phone (AT engine, SMS PDU codec, modem service)."""

from __future__ import annotations

from zhanye_sdk.devices.at import AtCommand, AtConnection, SignalQuality
from zhanye_sdk.devices.at_errors import (
    AtCommandError,
    AtTimeout,
    CmeError,
    CmsError,
    DeviceDisconnected,
)
from zhanye_sdk.devices.calls import (
    CallAnswered,
    CallEnded,
    CallOutcome,
    CallTracker,
    IncomingCall,
    OutgoingCall,
)
from zhanye_sdk.devices.gateway import (
    GatewayConfig,
    LoggingSmsGateway,
    ModemSmsGateway,
    RateLimits,
    SendResult,
    SmsGateway,
)
from zhanye_sdk.devices.modem import (
    DeviceInfo,
    Modem,
    ModemConfig,
    ModemConnected,
    ModemDisconnected,
    SmsReceived,
    StatusReportReceived,
    SubmitInDoubt,
)

__all__ = [
    "AtCommand",
    "AtCommandError",
    "AtConnection",
    "AtTimeout",
    "CallAnswered",
    "CallEnded",
    "CallOutcome",
    "CallTracker",
    "CmeError",
    "CmsError",
    "DeviceDisconnected",
    "DeviceInfo",
    "GatewayConfig",
    "IncomingCall",
    "LoggingSmsGateway",
    "Modem",
    "ModemConfig",
    "ModemConnected",
    "ModemDisconnected",
    "ModemSmsGateway",
    "OutgoingCall",
    "RateLimits",
    "SendResult",
    "SignalQuality",
    "SmsGateway",
    "SmsReceived",
    "StatusReportReceived",
    "SubmitInDoubt",
]
