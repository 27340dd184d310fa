"""Short invite codes: their shape, and the per-client lookup budget (time passed in)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.rooms.invite_codes import CODE_ALPHABET, LookupLimiter, is_code, new_code


def test_codes_are_recognised_and_tokens_are_not() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200 and all(is_code(code) for code in codes)
    assert not is_code("eyJrIjoiaW52aXRlIn0.c2ln")  # a signed token has a dot
    assert not is_code("O0l1I" * 2)  # look-alikes are not in the alphabet
    assert not set("0O1lI") & set(CODE_ALPHABET)


@given(st.text(max_size=40))
def test_is_code_never_fails_on_any_text(text: str) -> None:
    assert is_code(text) in (True, False)


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 5_000)),
        max_size=300,
    )
)
def test_no_client_gets_more_than_the_limit_in_any_window(
    steps: list[tuple[str, int]],
) -> None:
    limiter = LookupLimiter(limit=5, window_ms=1_000)
    now = 0
    admitted: dict[str, list[int]] = {}
    for client, gap in steps:
        now += gap
        wait = limiter.admit(client, now)
        if wait is None:
            admitted.setdefault(client, []).append(now)
        else:
            assert 0 < wait <= 1.0
    for times in admitted.values():
        for i, start in enumerate(times):
            assert len([t for t in times[i:] if t < start + 1_000]) <= 5


def test_a_refused_client_is_admitted_again_once_the_window_passes() -> None:
    limiter = LookupLimiter(limit=2, window_ms=1_000)
    assert limiter.admit("x", 0) is None and limiter.admit("x", 10) is None
    assert limiter.admit("x", 20) == 0.98
    assert limiter.admit("y", 20) is None
    assert limiter.admit("x", 1_000) is None
