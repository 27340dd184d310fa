"""Which addresses ICE uses: local host candidates and accepted remote candidates.

aioice gathers host candidates from every interface through the module function
``aioice.ice.get_host_addresses`` and offers no per-connection option, so
``limit_host_addresses`` replaces that function for the whole process: it is the one
process-wide setting here (every peer in one process shares its interfaces anyway).
``127.0.0.1`` is allowed explicitly, which aioice otherwise skips.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

import aioice.ice
import attrs

__all__ = [
    "IcePolicy",
    "candidate_address",
    "filter_sdp_candidates",
    "is_loopback",
    "ice_policy",
    "limit_host_addresses",
]

_ORIGINAL = aioice.ice.get_host_addresses


def _fixed(addresses: tuple[str, ...], use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return [a for a in addresses if (use_ipv6 if ":" in a else use_ipv4)]


def limit_host_addresses(addresses: Sequence[str] | None) -> None:
    """Gather ICE host candidates on ``addresses`` only (None: every interface again).

    Raises:
        ValueError: an entry is not an IP address.
    """
    if addresses is None:
        aioice.ice.get_host_addresses = _ORIGINAL
        return
    checked = tuple(str(ipaddress.ip_address(a)) for a in addresses)
    aioice.ice.get_host_addresses = functools.partial(_fixed, checked)


def is_loopback(address: str) -> bool:
    """True for a loopback IP address; False for anything else (mDNS names too)."""
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def candidate_address(candidate: str) -> str | None:
    """The connection address of an ICE candidate line (``candidate:…`` or ``a=candidate:…``)."""
    text = candidate.strip()
    for prefix in ("a=", "candidate:"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    fields = text.split()
    return fields[4] if len(fields) >= 8 else None


def filter_sdp_candidates(sdp: str, *, loopback_only: bool) -> str:
    """Drop ``a=candidate`` lines whose address is not loopback (when ``loopback_only``)."""
    if not loopback_only:
        return sdp
    lines = sdp.split("\r\n") if "\r\n" in sdp else sdp.split("\n")
    kept = [
        line
        for line in lines
        if not line.startswith("a=candidate:") or is_loopback(candidate_address(line) or "")
    ]
    return ("\r\n" if "\r\n" in sdp else "\n").join(kept)


@attrs.frozen
class IcePolicy:
    """Which local addresses ICE offers and whether remote candidates must be loopback."""

    host_addresses: tuple[str, ...] | None
    loopback_only: bool


def ice_policy(serve_address: str, explicit: Sequence[str] = ()) -> IcePolicy:
    """ICE addresses that follow the address a host serves on, unless given explicitly.

    ``explicit`` addresses win (a server with several interfaces, or behind NAT, names
    the one its clients' traffic reaches; they must be the machine's own addresses);
    otherwise a host serving on one address offers candidates on that address only, and a
    host serving on every interface (``0.0.0.0``, ``::``, a name) on every interface. A
    loopback host offers loopback and accepts loopback candidates only: no media from
    the demo on 127.0.0.1 leaves the machine.

    Raises:
        ValueError: an explicit entry is not an IP address.
    """
    if explicit:
        addresses = tuple(str(ipaddress.ip_address(a)) for a in explicit)
    else:
        try:
            address = ipaddress.ip_address(serve_address)
        except ValueError:
            address = None
        if serve_address == "localhost" or (address is not None and address.is_loopback):
            addresses = ("127.0.0.1",)
        elif address is None or address.is_unspecified:
            return IcePolicy(None, False)
        else:
            addresses = (str(address),)
    return IcePolicy(addresses, all(is_loopback(a) for a in addresses))
