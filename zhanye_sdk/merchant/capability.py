"""The merchant call desk as a capability: ``/api/desk/*`` and the desk's tasks.

The desk's tasks (the phone line, the SMS outbox, the SIM's registration, the daily
chores) run under the desk runtime's supervisor, inside the opened phone; the page is
served at once and shows "unplugged" until the phone is there.
"""

from __future__ import annotations

import anyio
from anyio.abc import TaskStatus

from zhanye_sdk.api.merchant import MerchantApi
from zhanye_sdk.capability import BaseCapability
from zhanye_sdk.devices.gateway import ModemSmsGateway
from zhanye_sdk.devices.modem import Modem
from zhanye_sdk.merchant.runtime import DeskRuntime

__all__ = ["MerchantCapability"]


class MerchantCapability(BaseCapability):
    """Customers, reservations, the phone line and reports of one desk."""

    name = "merchant"

    def __init__(
        self, api: MerchantApi, runtime: DeskRuntime, modem: Modem, gateway: ModemSmsGateway
    ) -> None:
        self.api = api
        self.runtime = runtime
        self.modem = modem
        self.gateway = gateway
        self.router = api.router

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Open the phone and keep every desk task running (restarted when it fails)."""
        try:
            async with self.modem:
                task_status.started()
                await self.runtime.run()
        finally:
            self.gateway.close()
