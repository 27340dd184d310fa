"""Typed +CME / +CMS errors: the code tables of 3GPP TS 27.007 §9.2 and TS 27.005 §3.2.5.

Each code carries its meaning and whether trying again later may succeed
(``retryable``): a busy SIM, a congested network or a timeout may clear; a wrong
PIN, an unknown number or an unsupported operation will not.
"""

from __future__ import annotations

from zhanye_sdk.errors import DeviceError

__all__ = [
    "CME_ERRORS",
    "CMS_ERRORS",
    "AtCommandError",
    "AtTimeout",
    "CmeError",
    "CmsError",
    "DeviceDisconnected",
    "cme_error",
    "cms_error",
]

# code -> (meaning, retryable)
CME_ERRORS: dict[int, tuple[str, bool]] = {
    0: ("phone failure", False),
    1: ("no connection to phone", True),
    2: ("phone-adaptor link reserved", True),
    3: ("operation not allowed", False),
    4: ("operation not supported", False),
    5: ("PH-SIM PIN required", False),
    6: ("PH-FSIM PIN required", False),
    7: ("PH-FSIM PUK required", False),
    10: ("SIM not inserted", False),
    11: ("SIM PIN required", False),
    12: ("SIM PUK required", False),
    13: ("SIM failure", False),
    14: ("SIM busy", True),
    15: ("SIM wrong", False),
    16: ("incorrect password", False),
    17: ("SIM PIN2 required", False),
    18: ("SIM PUK2 required", False),
    20: ("memory full", False),
    21: ("invalid index", False),
    22: ("not found", False),
    23: ("memory failure", False),
    24: ("text string too long", False),
    25: ("invalid characters in text string", False),
    26: ("dial string too long", False),
    27: ("invalid characters in dial string", False),
    30: ("no network service", True),
    31: ("network timeout", True),
    32: ("network not allowed - emergency calls only", False),
    40: ("network personalization PIN required", False),
    41: ("network personalization PUK required", False),
    42: ("network subset personalization PIN required", False),
    43: ("network subset personalization PUK required", False),
    44: ("service provider personalization PIN required", False),
    45: ("service provider personalization PUK required", False),
    46: ("corporate personalization PIN required", False),
    47: ("corporate personalization PUK required", False),
    100: ("unknown", False),
    103: ("illegal MS", False),
    106: ("illegal ME", False),
    107: ("GPRS services not allowed", False),
    111: ("PLMN not allowed", False),
    112: ("location area not allowed", False),
    113: ("roaming not allowed in this location area", False),
    132: ("service option not supported", False),
    133: ("requested service option not subscribed", False),
    134: ("service option temporarily out of order", True),
    148: ("unspecified GPRS error", False),
    149: ("PDP authentication failure", False),
    150: ("invalid mobile class", False),
}

CMS_ERRORS: dict[int, tuple[str, bool]] = {
    1: ("unassigned (unallocated) number", False),
    8: ("operator determined barring", False),
    10: ("call barred", False),
    21: ("short message transfer rejected", False),
    27: ("destination out of service", True),
    28: ("unidentified subscriber", False),
    29: ("facility rejected", False),
    30: ("unknown subscriber", False),
    38: ("network out of order", True),
    41: ("temporary failure", True),
    42: ("congestion", True),
    47: ("resources unavailable, unspecified", True),
    50: ("requested facility not subscribed", False),
    69: ("requested facility not implemented", False),
    81: ("invalid short message transfer reference value", False),
    95: ("invalid message, unspecified", False),
    96: ("invalid mandatory information", False),
    97: ("message type non-existent or not implemented", False),
    98: ("message not compatible with short message protocol state", True),
    99: ("information element non-existent or not implemented", False),
    111: ("protocol error, unspecified", True),
    127: ("interworking, unspecified", True),
    128: ("telematic interworking not supported", False),
    129: ("short message type 0 not supported", False),
    130: ("cannot replace short message", False),
    143: ("unspecified TP-PID error", False),
    144: ("data coding scheme (alphabet) not supported", False),
    145: ("message class not supported", False),
    159: ("unspecified TP-DCS error", False),
    160: ("command cannot be actioned", False),
    161: ("command unsupported", False),
    175: ("unspecified TP-Command error", False),
    176: ("TPDU not supported", False),
    192: ("SC busy", True),
    193: ("no SC subscription", False),
    194: ("SC system failure", True),
    195: ("invalid SME address", False),
    196: ("destination SME barred", False),
    197: ("SM rejected - duplicate SM", False),
    198: ("TP-VPF not supported", False),
    199: ("TP-VP not supported", False),
    208: ("SIM SMS storage full", False),
    209: ("no SMS storage capability in SIM", False),
    210: ("error in MS", True),
    211: ("memory capacity exceeded", False),
    212: ("SIM application toolkit busy", True),
    213: ("SIM data download error", True),
    255: ("unspecified error cause", True),
    300: ("ME failure", True),
    301: ("SMS service of ME reserved", True),
    302: ("operation not allowed", False),
    303: ("operation not supported", False),
    304: ("invalid PDU mode parameter", False),
    305: ("invalid text mode parameter", False),
    310: ("SIM not inserted", False),
    311: ("SIM PIN required", False),
    312: ("PH-SIM PIN required", False),
    313: ("SIM failure", False),
    314: ("SIM busy", True),
    315: ("SIM wrong", False),
    316: ("SIM PUK required", False),
    317: ("SIM PIN2 required", False),
    318: ("SIM PUK2 required", False),
    320: ("memory failure", False),
    321: ("invalid memory index", False),
    322: ("memory full", False),
    330: ("SMSC address unknown", False),
    331: ("no network service", True),
    332: ("network timeout", True),
    340: ("no +CNMA acknowledgement expected", False),
    500: ("unknown error", True),
}

_CME_BY_TEXT = {meaning.lower(): code for code, (meaning, _) in CME_ERRORS.items()}
_CMS_BY_TEXT = {meaning.lower(): code for code, (meaning, _) in CMS_ERRORS.items()}


class AtCommandError(DeviceError):
    """The device answered a command with a bare ``ERROR`` (or a call-control failure
    such as ``BUSY`` / ``NO CARRIER``); ``result`` is the final line."""

    def __init__(
        self,
        message: str,
        *,
        result: str = "ERROR",
        code: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message, code=code, retryable=retryable)
        self.result = result


class CmeError(DeviceError):
    """``+CME ERROR: <code>``: a mobile-equipment error (TS 27.007 §9.2).

    ``code`` is None when the device sent a text the table does not know; ``meaning``
    is the table's text (or the device's own words).
    """

    def __init__(
        self, code: int | None, meaning: str, *, retryable: bool, command: str = ""
    ) -> None:
        where = f" to {command}" if command else ""
        label = f"+CME ERROR {code}" if code is not None else "+CME ERROR"
        super().__init__(f"{label}{where}: {meaning}", code=code, retryable=retryable)
        self.meaning = meaning
        self.command = command


class CmsError(DeviceError):
    """``+CMS ERROR: <code>``: a message-service error (TS 27.005 §3.2.5)."""

    def __init__(
        self, code: int | None, meaning: str, *, retryable: bool, command: str = ""
    ) -> None:
        where = f" to {command}" if command else ""
        label = f"+CMS ERROR {code}" if code is not None else "+CMS ERROR"
        super().__init__(f"{label}{where}: {meaning}", code=code, retryable=retryable)
        self.meaning = meaning
        self.command = command


class AtTimeout(DeviceError):
    """The device did not finish answering a command within its timeout."""

    def __init__(self, command: str, timeout: float) -> None:
        super().__init__(
            f"no final result to {command!r} within {timeout:g} s", code=None, retryable=True
        )
        self.command = command
        self.timeout = timeout


class DeviceDisconnected(DeviceError):
    """The serial device went away (unplugged, socket closed) or is not connected yet."""

    def __init__(self, message: str = "the modem is disconnected") -> None:
        super().__init__(message, code=None, retryable=True)


def _lookup(
    argument: str, table: dict[int, tuple[str, bool]], by_text: dict[str, int]
) -> tuple[int | None, str, bool]:
    text = argument.strip().strip('"')
    if text.isdigit():
        code = int(text)
        meaning, retryable = table.get(code, (f"code {code} (not in the standard table)", False))
        # Vendor codes 512+ are mostly transient (network/modem busy) on real devices.
        if code not in table and code >= 512:
            retryable = True
        return code, meaning, retryable
    found = by_text.get(text.lower())
    if found is not None:
        meaning, retryable = table[found]
        return found, meaning, retryable
    return None, text or "unspecified", False


def cme_error(argument: str, *, command: str = "") -> CmeError:
    """Build the typed error for the text after ``+CME ERROR:`` (a number, or the verbose
    text that ``AT+CMEE=2`` selects)."""
    code, meaning, retryable = _lookup(argument, CME_ERRORS, _CME_BY_TEXT)
    return CmeError(code, meaning, retryable=retryable, command=command)


def cms_error(argument: str, *, command: str = "") -> CmsError:
    """Build the typed error for the text after ``+CMS ERROR:``."""
    code, meaning, retryable = _lookup(argument, CMS_ERRORS, _CMS_BY_TEXT)
    return CmsError(code, meaning, retryable=retryable, command=command)
