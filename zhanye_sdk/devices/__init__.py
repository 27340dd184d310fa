"""Device drivers: the USB GSM desk phone (AT engine, SMS PDU codec, modem service).

The names below are imported on first use: importing a sans-I/O core such as
``zhanye_sdk.devices.pdu`` or ``zhanye_sdk.devices.at`` does not load the modem
service, the gateway's outbox or anything else here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zhanye_sdk._lazy import lazy_exports

if TYPE_CHECKING:
    from zhanye_sdk.devices.at import AtCommand, AtConnection, Line, SignalQuality
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
    from zhanye_sdk.devices.sms import SendResult, SmsGateway

_SOURCES: dict[str, str] = {
    "AtCommand": "zhanye_sdk.devices.at",
    "AtCommandError": "zhanye_sdk.devices.at_errors",
    "AtConnection": "zhanye_sdk.devices.at",
    "AtTimeout": "zhanye_sdk.devices.at_errors",
    "CallAnswered": "zhanye_sdk.devices.calls",
    "CallEnded": "zhanye_sdk.devices.calls",
    "CallOutcome": "zhanye_sdk.devices.calls",
    "CallTracker": "zhanye_sdk.devices.calls",
    "CmeError": "zhanye_sdk.devices.at_errors",
    "CmsError": "zhanye_sdk.devices.at_errors",
    "DeviceDisconnected": "zhanye_sdk.devices.at_errors",
    "DeviceInfo": "zhanye_sdk.devices.modem",
    "GatewayConfig": "zhanye_sdk.devices.gateway",
    "IncomingCall": "zhanye_sdk.devices.calls",
    "Line": "zhanye_sdk.devices.at",
    "LoggingSmsGateway": "zhanye_sdk.devices.gateway",
    "Modem": "zhanye_sdk.devices.modem",
    "ModemConfig": "zhanye_sdk.devices.modem",
    "ModemConnected": "zhanye_sdk.devices.modem",
    "ModemDisconnected": "zhanye_sdk.devices.modem",
    "ModemSmsGateway": "zhanye_sdk.devices.gateway",
    "OutgoingCall": "zhanye_sdk.devices.calls",
    "RateLimits": "zhanye_sdk.devices.gateway",
    "SendResult": "zhanye_sdk.devices.sms",
    "SignalQuality": "zhanye_sdk.devices.at",
    "SmsGateway": "zhanye_sdk.devices.sms",
    "SmsReceived": "zhanye_sdk.devices.modem",
    "StatusReportReceived": "zhanye_sdk.devices.modem",
    "SubmitInDoubt": "zhanye_sdk.devices.modem",
}

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
    "Line",
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

__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
