"""A GSM desk phone sending a deployment's SMS, as a capability: its outbox runs while
the deployment does."""

from __future__ import annotations

import anyio
from anyio.abc import TaskStatus

from zhanye_sdk.capability import BaseCapability
from zhanye_sdk.devices.gateway import ModemSmsGateway
from zhanye_sdk.devices.modem import Modem

__all__ = ["SmsCapability"]


class SmsCapability(BaseCapability):
    """Keeps the desk phone open and sends what the SMS outbox holds."""

    name = "sms"

    def __init__(self, modem: Modem, gateway: ModemSmsGateway) -> None:
        super().__init__()
        self.modem = modem
        self.gateway = gateway

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Open the phone (served at once; it may be plugged in later) and send."""
        try:
            async with self.modem:
                task_status.started()
                await self.gateway.run()
        finally:
            self.gateway.close()
