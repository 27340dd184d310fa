"""The co-browse log: resync without gap or duplicate, control lease, masking, limits."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from zhanye_sdk.cobrowse.core import CobrowseLimits, CobrowseLog, CobrowseRefused, LoggedEvent
from zhanye_sdk.errors import InvalidInput, RateLimited, ZhanyeError

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
        self.log = shared(snapshot_burst=10_000)
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
    log = shared(snapshot_burst=10_000)
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


# ---- snapshots in chunks, snapshot limits, masked nodes (#13.15, #14.5, #14.10) ----------

BIG = {"root": {"id": 1, "tag": "html", "children": [{"id": 2, "text": "x" * 5000}]}}


def _chunks(snapshot: object, size: int) -> list[str]:
    text = json.dumps(snapshot, ensure_ascii=False)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def test_a_snapshot_in_chunks_is_reassembled_into_one_base() -> None:
    log = shared(max_event_bytes=1000)
    parts = _chunks(BIG, 900)
    results = [
        log.snapshot_chunk(CUSTOMER, "s1", i, len(parts), part, 10) for i, part in enumerate(parts)
    ]
    assert results[:-1] == [None] * (len(parts) - 1)
    last = results[-1]
    assert last is not None and last.kind == "snapshot" and last.data == BIG
    assert log.snapshot == BIG and log.resync(None).snapshot == BIG
    # Out of order: refused, and the partial snapshot is dropped.
    log.snapshot_chunk(CUSTOMER, "s2", 0, 3, parts[0], 20)
    with pytest.raises(InvalidInput):
        log.snapshot_chunk(CUSTOMER, "s2", 2, 3, parts[1], 20)
    with pytest.raises(InvalidInput):
        log.snapshot_chunk(CUSTOMER, "s2", 1, 3, parts[1], 20)
    with pytest.raises(InvalidInput):  # a chunk over the event limit
        log.snapshot_chunk(CUSTOMER, "s3", 0, 1, "y" * 1001, 30)
    assert log.snapshot == BIG


def test_snapshot_size_rate_and_share_total_are_bounded() -> None:
    log = shared(max_snapshot_bytes=8000, snapshot_burst=3, snapshots_per_minute=6)
    with pytest.raises(InvalidInput, match="at most 8000"):
        log.take_snapshot(CUSTOMER, {"root": {"id": 1, "text": "x" * 9000}}, 0)
    log.take_snapshot(CUSTOMER, BIG, 0)  # shared() took one at 0, the oversize one another
    with pytest.raises(RateLimited) as limited:
        log.take_snapshot(CUSTOMER, BIG, 1000)
    assert 0 < limited.value.retry_after_s <= 10 and limited.value.zh
    log.take_snapshot(CUSTOMER, BIG, 11_000)  # one per 10 s
    # The share's budget: what it stores in all.
    small = shared(max_share_bytes=9_000, snapshot_burst=100)
    small.take_snapshot(CUSTOMER, BIG, 1)
    with pytest.raises(InvalidInput) as full:
        small.take_snapshot(CUSTOMER, BIG, 2)
    assert full.value.zh and "push" in str(full.value)
    with pytest.raises(InvalidInput):
        small.record(CUSTOMER, "mutation", {"texts": [{"node": 2, "text": "y" * 7000}]}, 3)
    assert small.snapshot == BIG and small.stored_bytes <= 9_000


def test_mutations_that_target_masked_nodes_are_refused() -> None:
    log = shared()  # nodes 7 and 8 are masked
    for data in (
        {"attrs": [{"node": 7, "name": "value", "value": "6222020000000000"}]},
        {"attrs": [{"node": 7, "name": "data-card", "value": "6222020000000000"}]},
        {"texts": [{"node": 8, "text": "6222020000000000"}]},
        {"adds": [{"parent": 7, "next": None, "node": {"id": 20, "text": "6222"}}]},
        {"adds": [{"parent": 3, "next": None, "node": {"id": 21, "text": "62", "masked": True}}]},
        {
            "adds": [
                {
                    "parent": 3,
                    "next": None,
                    "node": {"id": 22, "tag": "div", "children": [{"id": 23, "text": "6"}]},
                }
            ],
            "masked": [22],
        },
    ):
        with pytest.raises(CobrowseRefused) as refused:
            log.record(CUSTOMER, "mutation", data, 1)
        assert refused.value.code == "masked", data
    # Harmless changes of masked nodes and masked placeholders pass.
    log.record(CUSTOMER, "mutation", {"attrs": [{"node": 7, "name": "class", "value": "bad"}]}, 2)
    log.record(CUSTOMER, "mutation", {"texts": [{"node": 8, "text": "•••"}]}, 2)
    log.record(CUSTOMER, "mutation", {"attrs": [{"node": 7, "name": "title", "value": None}]}, 2)
    # A snapshot whose masked nodes carry values is refused too.
    with pytest.raises(CobrowseRefused):
        log.take_snapshot(
            CUSTOMER, {"root": {"id": 7, "tag": "input", "value": "6222"}, "masked": [7]}, 3
        )


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.integers(-2, 6),
            st.integers(-1, 6),
            st.sampled_from(["", "{", '"root"', "x" * 120, ':{"id":1}}', '{"root":{"id":1}}']),
            st.integers(0, 5000),
        ),
        max_size=40,
    )
)
def test_any_chunk_sequence_gets_an_answer_and_keeps_the_log_whole(
    chunks: list[tuple[str, int, int, str, int]],
) -> None:
    """Fuzz: any chunk order, count or content is answered with a ZhanyeError or accepted;
    the log's base is always a whole snapshot and nothing exceeds the limits."""
    log = shared(max_event_bytes=100, max_snapshot_bytes=300, max_share_bytes=2000)
    at = 0
    for snapshot_id, index, total, text, step in chunks:
        at += step
        try:
            event = log.snapshot_chunk(CUSTOMER, snapshot_id, index, total, text, at)
        except ZhanyeError:
            continue
        if event is not None:
            assert event.kind == "snapshot" and isinstance(event.data, dict)
            assert "root" in event.data
        assert log.snapshot is not None and "root" in log.snapshot
        assert log.stored_bytes <= 2000


@given(
    st.lists(st.integers(0, 30_000), min_size=1, max_size=60),
    st.integers(1, 5),
    st.floats(0.5, 60),
)
def test_snapshots_never_exceed_the_burst_plus_the_rate(
    steps: list[int], burst: int, per_minute: float
) -> None:
    """Fuzz: whatever the timing, accepted snapshots ≤ burst + rate × elapsed time, and
    every refusal says when to come back."""
    log = CobrowseLog(
        HOST,
        CUSTOMER,
        "https://example.com/p",
        CobrowseLimits(snapshot_burst=burst, snapshots_per_minute=per_minute),
    )
    at, accepted = 0, 0
    for step in steps:
        at += step
        try:
            log.take_snapshot(CUSTOMER, SNAPSHOT, at)
            accepted += 1
        except RateLimited as limited:
            assert limited.retry_after_s > 0
    assert accepted <= burst + per_minute * at / 60_000 + 1e-9


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 12) | st.sampled_from(["", "•", "x", "value"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "node",
                    "parent",
                    "next",
                    "id",
                    "text",
                    "tag",
                    "attrs",
                    "children",
                    "masked",
                    "value",
                    "name",
                    "adds",
                    "attrs",
                    "texts",
                    "removes",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@given(st.sampled_from(["mutation", "input", "click", "scroll"]), _JSON, _JSON)
def test_any_page_event_or_snapshot_is_answered_without_crashing(
    kind: str, data: object, snapshot: object
) -> None:
    """Fuzz: malformed events and snapshots get a ZhanyeError, never another exception, and
    a masked node (7, 8) never gets a value that is not the mask."""
    log = shared()
    for attempt in (
        lambda: log.record(CUSTOMER, kind, data, 1),  # type: ignore[arg-type]
        lambda: log.take_snapshot(CUSTOMER, {"root": snapshot, "masked": [7, 8]}, 2),
    ):
        try:
            attempt()
        except ZhanyeError:
            pass
    for event in log.events:
        if event.kind == "mutation":
            for entry in event.data.get("texts", []):
                if entry.get("node") in (7, 8):
                    assert entry.get("text") in (None, "", "•")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["pointer", "scroll", "click", "mutation", "snapshot"]),
            st.integers(0, 50),  # milliseconds since the previous event
        ),
        max_size=60,
    ),
    st.integers(0, 20_000),  # from the last event to the take-over
)
def test_a_log_restored_from_its_stored_events_goes_on_where_the_original_was(
    steps: list[tuple[str, int]], silence_ms: int
) -> None:
    """Another process rebuilds the share from what was stored (pointer moves never are):
    the same base and masks, control back with the customer, and numbering past every
    event any viewer may have had, pointer moves included."""
    original = shared(burst=20, events_per_second=100.0, snapshot_burst=1000)
    stored = [LoggedEvent(1, "snapshot", SNAPSHOT, 0)]
    at = 0
    for kind, wait in steps:
        at += wait
        try:
            if kind == "snapshot":
                event = original.take_snapshot(CUSTOMER, SNAPSHOT, at)
            else:
                data = {"masked": [20 + at % 5]} if kind == "mutation" else {"x": 1, "y": 2}
                event = original.record(CUSTOMER, kind, data, at)
        except (CobrowseRefused, RateLimited):
            continue
        if kind != "pointer":
            stored.append(event)
    original.hand_over(HOST, HOST)
    limits = CobrowseLimits(burst=20, events_per_second=100.0, snapshot_burst=1000)
    restored = CobrowseLog.restored(HOST, CUSTOMER, original.url, stored, at + silence_ms, limits)
    assert restored.seq > original.seq
    assert (restored.snapshot, restored.snapshot_seq) == (original.snapshot, original.snapshot_seq)
    assert restored.masked == original.masked
    assert restored.lease.holder == CUSTOMER
    for seen in range(original.snapshot_seq, original.seq + 1):
        again = restored.resync(seen)
        assert not again.reset
        assert [e.seq for e in again.events] == [
            e.seq for e in stored if e.seq > max(seen, original.snapshot_seq)
        ]
