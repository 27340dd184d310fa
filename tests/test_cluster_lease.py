"""The lease and fencing rules (``zhanye_sdk.cluster.lease``) under random crashes,
pauses, lost authority memory, network delays and clock drift.

Three processes compete for one room. Whatever happens, the store (``FenceGate``)
accepts writes only from a process whose picture of the room is the committed log
(no lost event, no fork), the log is every acknowledged write once and in order, and
no other process holds the lease while one believes it does.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from zhanye_sdk.cluster.lease import (
    FenceGate,
    LeaseState,
    LeaseTable,
    LeaseView,
    WriteRefused,
)

TTL_MS = 5000
NODES = ("a", "b", "c")
ROOM = "room"


@attrs.define
class Node:
    name: str
    offset_ms: int
    rate: float
    view: LeaseView | None = None
    known: list[str] = attrs.Factory(list)

    def local(self, t_ms: int) -> int:
        return self.offset_ms + int(t_ms * (1 + self.rate))


class LeaseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.t = 0
        self.table = LeaseTable(ttl_ms=TTL_MS)
        self.gate = FenceGate()
        self.log: list[str] = []
        self.acknowledged: list[str] = []
        self.written_fences: list[int] = []
        self.nodes: dict[str, Node] = {}
        self.counter = 0

    @initialize(
        clocks=st.lists(
            st.tuples(st.integers(-(10**9), 10**9), st.floats(-0.005, 0.005)),
            min_size=len(NODES),
            max_size=len(NODES),
        )
    )
    def start(self, clocks: list[tuple[int, float]]) -> None:
        for name, (offset, rate) in zip(NODES, clocks, strict=True):
            self.nodes[name] = Node(name, offset, rate)

    @rule(dt=st.integers(0, 3 * TTL_MS))
    def time_passes(self, dt: int) -> None:
        self.t += dt

    @rule(name=st.sampled_from(NODES), out=st.integers(0, 300), back=st.integers(0, 300))
    def acquire(self, name: str, out: int, back: int) -> None:
        node = self.nodes[name]
        if node.view is not None and node.view.state is not LeaseState.LOST:
            return
        floor = self.gate.fence  # read from the store before asking
        sent = node.local(self.t)
        self.t += out
        grant = self.table.acquire(ROOM, name, self.t, floor=floor)
        self.t += back
        if grant is None:
            return
        try:
            last = self.gate.claim(grant.fence)
        except WriteRefused:
            return
        node.view = LeaseView(ttl_ms=TTL_MS)
        node.view.granted(grant.fence, sent)
        node.known = list(self.log[:last])  # restore from the store after the claim

    @rule(
        name=st.sampled_from(NODES),
        out=st.integers(0, 300),
        back=st.integers(0, 300),
        reachable=st.booleans(),
    )
    def renew(self, name: str, out: int, back: int, reachable: bool) -> None:
        node = self.nodes[name]
        view = node.view
        if view is None or view.state not in (LeaseState.HELD, LeaseState.UNREACHABLE):
            return
        if not reachable:
            view.unreachable()
            return
        sent = node.local(self.t)
        self.t += out
        grant = self.table.renew(ROOM, name, view.fence, self.t)
        self.t += back
        if grant is None:
            view.refused()
        else:
            view.granted(grant.fence, sent)

    @rule(name=st.sampled_from(NODES), pause=st.integers(0, 4 * TTL_MS))
    def write(self, name: str, pause: int) -> None:
        node = self.nodes[name]
        view = node.view
        if view is None or not view.may_write(node.local(self.t)):
            return
        if view.holds(node.local(self.t)):
            # Nobody else holds it (after the authority forgot, nobody may hold it).
            holder = self.table.holder(ROOM, self.t)
            assert holder is None or (holder.node, holder.fence) == (name, view.fence)
        self.t += pause  # a stop-the-world pause between the check and the write
        self.counter += 1
        event = f"{name}{self.counter}"
        try:
            first = self.gate.write(view.fence, 1)
        except WriteRefused:
            view.fenced_out()
            node.known = []
            return
        assert node.known == self.log, "a writer acted on a stale picture of the room"
        assert first == len(self.log) + 1
        self.log.append(event)
        node.known.append(event)
        self.acknowledged.append(event)
        self.written_fences.append(view.fence)

    @rule(name=st.sampled_from(NODES))
    def crash(self, name: str) -> None:
        node = self.nodes[name]
        node.view = None
        node.known = []

    @rule()
    def authority_forgets(self) -> None:
        self.table.forget()

    @invariant()
    def log_is_every_acknowledged_write_in_order(self) -> None:
        assert self.log == self.acknowledged
        assert self.gate.last_seq == len(self.log)

    @invariant()
    def fences_of_accepted_writes_never_go_back(self) -> None:
        assert self.written_fences == sorted(self.written_fences)


LeaseMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=50)
test_lease_machine = LeaseMachine.TestCase


def test_a_holder_that_slept_through_a_takeover_cannot_write() -> None:
    table, gate = LeaseTable(ttl_ms=TTL_MS), FenceGate()
    old = LeaseView(ttl_ms=TTL_MS)
    grant = table.acquire(ROOM, "a", 0)
    assert grant is None  # a fresh authority waits one TTL for holders it forgot
    grant = table.acquire(ROOM, "a", TTL_MS)
    assert grant is not None
    gate.claim(grant.fence)
    old.granted(grant.fence, TTL_MS)
    assert old.may_write(TTL_MS + 10)
    # a sleeps for three TTLs; b takes over
    newer = table.acquire(ROOM, "b", 4 * TTL_MS, floor=gate.fence)
    assert newer is not None and newer.fence > grant.fence
    assert gate.claim(newer.fence) == 0
    with pytest.raises(WriteRefused):
        gate.write(grant.fence, 1)
    assert gate.write(newer.fence, 1) == 1


def test_a_forgetful_authority_never_hands_out_an_old_fence() -> None:
    table, gate = LeaseTable(ttl_ms=TTL_MS), FenceGate()
    table.fresh = False
    first = table.acquire(ROOM, "a", 0)
    assert first is not None
    gate.claim(first.fence)
    table.forget()
    assert table.acquire(ROOM, "b", 10, floor=gate.fence) is None  # quiet period
    renewed = table.renew(ROOM, "a", first.fence, 20)
    assert renewed is not None and renewed.fence == first.fence
    taken = table.acquire(ROOM, "b", 20 + 2 * TTL_MS, floor=gate.fence)
    assert taken is not None and taken.fence > first.fence


@pytest.mark.parametrize("network_ms", [0, 300])
def test_a_holder_with_a_slow_clock_gives_up_before_its_lease_ends(network_ms: int) -> None:
    table = LeaseTable(ttl_ms=TTL_MS, fresh=False)
    view = LeaseView(ttl_ms=TTL_MS)
    # Sent at real 0 (local 0); the request takes ``network_ms`` to arrive.
    grant = table.acquire(ROOM, "a", network_ms)
    assert grant is not None
    view.granted(grant.fence, 0)
    # The holder's clock runs 0.5 % slow: at real time t it reads 0.995 t.
    for real in range(0, 2 * TTL_MS, 10):
        if view.holds(int(real * 0.995)):
            assert table.holder(ROOM, real) == grant


def test_a_lease_granted_on_a_clock_that_reads_below_zero_still_expires() -> None:
    # Found by the machine above: a holder whose clock read below 0 when it asked kept
    # the initial 0 as its lease's end, and believed in the lease after it had passed.
    machine = LeaseMachine()
    machine.start(clocks=[(0, 0.0), (-10_001, 0.0), (0, 0.0)])
    machine.acquire(name="a", out=0, back=0)  # a fresh authority grants nothing yet
    machine.time_passes(dt=TTL_MS)
    machine.acquire(name="b", out=0, back=0)
    machine.time_passes(dt=TTL_MS)
    machine.acquire(name="a", out=0, back=0)  # b's lease expired: a holds the room
    view = machine.nodes["b"].view
    assert view is not None
    assert not view.holds(machine.nodes["b"].local(machine.t))
    machine.write(name="b", pause=0)  # the machine's own check: no second holder
    machine.teardown()
