"""The simulator's line protocol, for a person at a terminal or a control socket.

One command per line; the reply is one line::

    call 13800138000 [type]   an incoming call (RING/+CLIP every ring interval)
    call withheld             an incoming call with the number withheld
    hangup                    the caller hangs up (silently while it rings)
    landline 02188886666      an incoming call on the landline port (一机双号)
    landline withheld         the same with the number withheld
    landline pickup|hangup    the handset is lifted / the landline caller hangs up
    sms 13800138000 你好      an SMS arrives (long texts arrive in parts)
    report <mr> <number> [status]   a status report for a sent message
    unplug | replug           pull / plug the USB cable
    echo on|off, chunking on|off, urc-mid on|off, stall <seconds>
    fail <command-prefix> <result>  e.g. ``fail AT+CMGS +CMS ERROR: 42``
    urc <line>                send any URC
    signal <rssi>             set the +CSQ value
    sent                      list the messages the driver sent
    status | help
"""

from __future__ import annotations

from zhanye_sdk.devices.simulator.modem import ModemSimulator
from zhanye_sdk.errors import InvalidInput

__all__ = ["HELP", "apply_command"]

HELP = __doc__.split("::", 1)[1].strip("\n") if __doc__ else ""


def _flag(args: list[str]) -> bool:
    if not args or args[0] not in ("on", "off"):
        raise InvalidInput("expected 'on' or 'off'")
    return args[0] == "on"


def apply_command(sim: ModemSimulator, line: str) -> str:  # noqa: C901
    """Run one control line against ``sim``; returns the reply. Bad lines give an
    ``error: …`` reply, never an exception."""
    words = line.strip().split(None, 1)
    if not words:
        return ""
    verb = words[0].lower()
    rest = words[1] if len(words) > 1 else ""
    args = rest.split()
    try:
        if verb == "call":
            if not args:
                raise InvalidInput("usage: call <number> [type] | call withheld")
            if args[0] == "withheld":
                sim.incoming_call(None, withheld=True)
                return "ok: incoming call, number withheld"
            number_type = int(args[1]) if len(args) > 1 else None
            sim.incoming_call(args[0], number_type=number_type)
            return f"ok: incoming call from {args[0]}"
        if verb == "landline":
            if not args:
                raise InvalidInput("usage: landline <number> | withheld | pickup | hangup")
            if args[0] == "pickup":
                sim.landline_picked_up()
                return "ok: landline picked up"
            if args[0] == "hangup":
                sim.landline_hangup()
                return "ok: landline caller hung up"
            if args[0] == "withheld":
                sim.landline_call(None, withheld=True)
                return "ok: landline call, number withheld"
            sim.landline_call(args[0])
            return f"ok: landline call from {args[0]}"
        if verb == "hangup":
            sim.remote_hangup()
            return "ok: caller hung up"
        if verb == "sms":
            number, _, text = rest.partition(" ")
            if not number or not text:
                raise InvalidInput("usage: sms <number> <text>")
            indices = sim.receive_sms(number, text)
            return f"ok: sms from {number} ({max(1, len(indices))} part(s))"
        if verb == "report":
            if len(args) < 2:
                raise InvalidInput("usage: report <mr> <number> [status]")
            sim.status_report(int(args[0]), args[1], int(args[2]) if len(args) > 2 else 0)
            return "ok: status report sent"
        if verb == "unplug":
            sim.unplug()
            return "ok: unplugged"
        if verb == "replug":
            sim.replug()
            return "ok: replugged"
        if verb == "echo":
            sim.faults.echo = _flag(args)
            return f"ok: echo {args[0]}"
        if verb == "chunking":
            sim.faults.chunking = _flag(args)
            return f"ok: chunking {args[0]}"
        if verb == "urc-mid":
            sim.faults.urc_mid_response = _flag(args)
            return f"ok: urc-mid {args[0]}"
        if verb == "stall":
            sim.faults.stall = float(args[0]) if args else 0.0
            return f"ok: stall {sim.faults.stall:g} s"
        if verb == "fail":
            prefix, _, result = rest.partition(" ")
            if not prefix or not result:
                raise InvalidInput("usage: fail <command-prefix> <result>")
            sim.fail_next(prefix, result)
            return f"ok: next {prefix} answers {result}"
        if verb == "urc":
            sim.urc(rest)
            return "ok"
        if verb == "signal":
            sim.rssi = int(args[0])
            return f"ok: rssi {sim.rssi}"
        if verb == "sent":
            if not sim.sent:
                return "ok: nothing sent yet"
            return "; ".join(f"#{s.message_reference} to {s.recipient}: {s.text}" for s in sim.sent)
        if verb == "status":
            call = sim.call
            state = "idle" if call is None else f"call state {call.state} with {call.number}"
            if sim.landline is not None:
                state += f", landline state {sim.landline.state} with {sim.landline.number}"
            return (
                f"ok: profile {sim.profile.name}, {'plugged' if sim.plugged else 'unplugged'}, "
                f"{state}, {len(sim.storage)} stored, {len(sim.sent)} sent"
            )
        if verb == "help":
            return HELP
    except (InvalidInput, ValueError, IndexError) as exc:
        return f"error: {exc}"
    return f"error: unknown command {verb!r}; try 'help'"
