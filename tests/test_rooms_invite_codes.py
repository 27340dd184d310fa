"""Short invite codes: their shape (the per-client lookup budget is a token bucket in the
room service's limiter: ``tests/security/test_http.py``, ``test_cluster_relay_limits.py``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.rooms.invite_codes import CODE_ALPHABET, is_code, new_code


def test_codes_are_recognised_and_tokens_are_not() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200 and all(is_code(code) for code in codes)
    assert not is_code("eyJrIjoiaW52aXRlIn0.c2ln")  # a signed token has a dot
    assert not is_code("O0l1I" * 2)  # look-alikes are not in the alphabet
    assert not set("0O1lI") & set(CODE_ALPHABET)


@given(st.text(max_size=40))
def test_is_code_never_fails_on_any_text(text: str) -> None:
    assert is_code(text) in (True, False)
