"""The SMS gateway seam: what the SDK needs of anything that sends text messages.

Sessions send invitations, the merchant desk sends confirmations, reminders and bulk
messages, all through an :class:`SmsGateway`: the desk phone's
(``zhanye_sdk.devices.gateway.ModemSmsGateway``), a cloud provider's, or the logging one
of tests and demos. Importing this module loads no driver.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

__all__ = ["SendResult", "SmsGateway"]


@attrs.frozen
class SendResult:
    """What became of one recipient's message.

    ``status``: ``queued`` (waiting in the outbox), ``sending`` (parts left),
    ``sent``, ``failed`` (``error`` says why), ``duplicate`` (the same text went to
    this number within the de-duplication window; ``message_id`` is that message).
    """

    message_id: int
    number: str
    status: str
    references: tuple[int, ...] = ()
    parts: int = 0
    in_doubt: tuple[int, ...] = ()
    error: str | None = None


class SmsGateway(Protocol):
    """Anything that sends SMS (the modem, a cloud provider, a test double)."""

    @property
    def signature(self) -> str | None:
        """The 【signature】 appended to every message (counted in previews), if any."""
        ...

    async def send(self, numbers: Sequence[str], text: str) -> list[SendResult]:
        """Send ``text`` to each number; one result per distinct number.

        Raises:
            InvalidInput: a number is not a phone number, or the text is empty.
        """
        ...
