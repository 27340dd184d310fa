"""The co-browse log: resync without gap or duplicate, control lease, masking, limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from zhanye_sdk.cobrowse.core import CobrowseLimits, CobrowseLog, CobrowseRefused

HOST, CUSTOMER = "host", "customer"
SNAPSHOT = {"root": {"id": 1, "tag": "html"}, "masked": [7, 8]}


def shared(**limits: int | float) -> CobrowseLog:
    log = CobrowseLog(HOST, CUSTOMER, "https://example.com/p", CobrowseLimits(**limits))  # type: ignore[arg-type]
    log.take_snapshot(CUSTOMER, SNAPSHOT, 0)
    return log


def test_masked_values_are_refused_and_masked_nodes_cannot_be_operated() -> None:
    log = shared()
    with pytest.raises(CobrowseRefused) as refused:
        log.record(CUSTOMER, "input", {"node": 7, "value": "110101199003077777"}, 1)
    assert refused.value.code == "masked"
    log.record(CUSTOMER, "input", {"node": 7, "value": "•"}, 1)  # the agent's placeholder
    log.record(CUSTOMER, "mutation", {"adds": [], "masked": [9]}, 2)
    with pytest.raises(CobrowseRefused, match="masked"):
        log.record(CUSTOMER, "input", {"node": 9, "value": "6222020000000000"}, 3)
    log.hand_over(HOST, HOST)
    with pytest.raises(CobrowseRefused) as refused:
        log.operate(HOST, 2, "input", {"node": 8, "value": "x"})
    assert refused.value.code == "masked"
    assert log.operate(HOST, 2, "input", {"node": 3, "value": "张三"})["data"]["value"] == "张三"


def test_control_lease_hand_over_and_take_back() -> None:
    log = shared()
    with pytest.raises(CobrowseRefused) as refused:
        log.operate(HOST, 1, "click", {"node": 3})
    assert refused.value.code == "not_operator"
    with pytest.raises(CobrowseRefused, match="only the host"):
        log.hand_over(CUSTOMER, HOST)
    lease = log.hand_over(HOST, HOST)
    assert (lease.holder, lease.epoch) == (HOST, 2)
    log.operate(HOST, 2, "click", {"node": 3})
    # The customer takes control back; the host's old epoch no longer works.
    assert log.hand_over(CUSTOMER, CUSTOMER).epoch == 3
    with pytest.raises(CobrowseRefused) as refused:
        log.operate(HOST, 2, "click", {"node": 3})
    assert refused.value.code == "not_operator"
    log.hand_over(HOST, HOST)
    with pytest.raises(CobrowseRefused) as refused:
        log.operate(HOST, 3, "click", {"node": 3})
    assert refused.value.code == "stale_epoch"


def test_bursts_and_big_events_ask_for_a_snapshot() -> None:
    log = shared(burst=5, events_per_second=10, max_event_bytes=200)
    for i in range(5):
        log.record(CUSTOMER, "pointer", {"x": i, "y": i}, 10)
    with pytest.raises(CobrowseRefused) as refused:
        log.record(CUSTOMER, "pointer", {"x": 9, "y": 9}, 10)
    assert refused.value.code == "rate_limited" and refused.value.needs_snapshot
    log.record(CUSTOMER, "pointer", {"x": 9, "y": 9}, 200)  # 0.19 s later: one token back
    with pytest.raises(CobrowseRefused) as refused:
        log.record(CUSTOMER, "mutation", {"adds": ["x" * 300]}, 300)
    assert refused.value.code == "too_large" and refused.value.needs_snapshot
    with pytest.raises(CobrowseRefused, match="only the customer"):
        log.record(HOST, "pointer", {"x": 1, "y": 1}, 400)
    assert [p["x"] for p in log.trail] == [0, 1, 2, 3, 4, 9]


def test_a_full_log_asks_for_a_new_base_instead_of_dropping_events() -> None:
    log = shared(max_log_events=3)
    for i in range(3):
        log.record(CUSTOMER, "scroll", {"y": i}, i)
    with pytest.raises(CobrowseRefused) as refused:
        log.record(CUSTOMER, "scroll", {"y": 9}, 5)
    assert refused.value.code == "log_full"
    log.take_snapshot(CUSTOMER, SNAPSHOT, 6)
    assert log.record(CUSTOMER, "scroll", {"y": 9}, 7).seq == 6


class ResyncMachine(RuleBasedStateMachine):
    """A client that drops and reconnects at random always ends up with the server's log."""

    def __init__(self) -> None:
        super().__init__()
        self.log = shared()
        self.connected = True
        self.base = self.log.snapshot_seq
        self.applied: list[int] = []

    def server_view(self) -> tuple[int, list[int]]:
        return self.log.snapshot_seq, [e.seq for e in self.log.events]

    @rule(kind=st.sampled_from(["mutation", "scroll", "pointer", "input"]))
    def page_event(self, kind: str) -> None:
        event = self.log.record(CUSTOMER, kind, {"node": 3, "value": "a", "x": 1, "y": 2}, 0)
        if self.connected:
            self.applied.append(event.seq)

    @rule()
    def new_snapshot(self) -> None:
        event = self.log.take_snapshot(CUSTOMER, SNAPSHOT, 0)
        if self.connected:
            self.base, self.applied = event.seq, []

    @rule(lost=st.integers(0, 5))
    def drop(self, lost: int) -> None:
        # The last few events may have been in flight when the connection broke.
        self.connected = False
        self.applied = self.applied[: max(0, len(self.applied) - lost)]

    @rule()
    def reconnect(self) -> None:
        result = self.log.resync(self.applied[-1] if self.applied else self.base)
        if result.reset:
            self.base, self.applied = result.snapshot_seq, []
        for event in result.events:
            assert not self.applied or event.seq == self.applied[-1] + 1, "gap or duplicate"
            self.applied.append(event.seq)
        self.connected = True

    @invariant()
    def a_connected_client_has_exactly_the_servers_log(self) -> None:
        if self.connected:
            assert (self.base, self.applied) == self.server_view()


TestResync = ResyncMachine.TestCase


@given(st.lists(st.sampled_from(["event", "snapshot"]), max_size=30), st.integers(-5, 40))
def test_any_claimed_position_gets_a_consistent_answer(ops: list[str], claim: int) -> None:
    log = shared()
    for op in ops:
        if op == "event":
            log.record(CUSTOMER, "scroll", {"y": 1}, 0)
        else:
            log.take_snapshot(CUSTOMER, SNAPSHOT, 0)
    result = log.resync(claim)
    seqs = [e.seq for e in result.events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True
    if result.reset:
        assert result.snapshot == SNAPSHOT and seqs == [e.seq for e in log.events]
    else:
        assert log.snapshot_seq <= claim <= log.seq and all(s > claim for s in seqs)
