"""Who of a room's listeners hears the shared mix (sans I/O), and what that mix is."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.media.direct_send import ntp_now
from zhanye_sdk.media.mixer import UNITY_GAIN_Q15, AudioMixer
from zhanye_sdk.media.opus import ResilientOpusEncoder, ResilientRedEncoder
from zhanye_sdk.media.sharing import QUIET_PEAK, QuietListeners, quiet_rows, shared_mix
from zhanye_sdk.media.tracks import MixedAudioTrack, SharedEncoder

S = 960
UNITY = np.int32(UNITY_GAIN_Q15)


def tone(hz: float, amplitude: int = 8_000) -> np.ndarray:
    t = np.arange(S) / 48_000
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def test_the_muted_and_those_under_the_noise_floor_are_quiet() -> None:
    sources = np.stack(
        [tone(500), np.full(S, QUIET_PEAK, np.int16), tone(700), np.zeros(S, np.int16)]
    )
    sources[1, 7] = -QUIET_PEAK
    gains = np.array([UNITY, UNITY, 0, UNITY], dtype=np.int32)
    assert quiet_rows(sources, gains).tolist() == [False, True, True, True]
    sources[1, 8] = QUIET_PEAK + 1
    assert quiet_rows(sources, gains).tolist() == [False, False, True, True]
    with pytest.raises(InvalidInput):
        quiet_rows(sources, gains[:2])


def test_the_shared_mix_is_what_a_quiet_listener_would_hear_without_the_quiet_ones_floor() -> None:
    mixer = AudioMixer(S, prime_frames=1)
    for name, samples in (("talker", tone(500)), ("quiet1", np.full(S, 3, np.int16)),
                          ("quiet2", np.zeros(S, np.int16)), ("muted", tone(900))):  # fmt: skip
        mixer.add(name)
        mixer.push(name, samples)
    mixer.set_gain("muted", 0)
    tick = mixer.tick()
    quiet = quiet_rows(tick.sources, tick.gains)
    assert quiet.tolist() == [False, True, True, True]
    shared = shared_mix(tick.sources, tick.gains, quiet)
    # The one silent to the sample and the muted hear their own mix-minus but for
    # quiet1's floor, which the shared mix leaves out…
    assert not np.array_equal(shared, tick.minus[2])
    assert np.abs(shared.astype(int) - tick.minus[2]).max() <= 3
    assert np.abs(shared.astype(int) - tick.minus[3]).max() <= 3
    # …and nobody quiet hears themselves: the talker alone is in it.
    assert np.array_equal(shared, tick.sources[0])


@given(st.lists(st.tuples(st.sampled_from("abcd"), st.booleans()), max_size=200))
def test_a_listener_shares_only_after_enough_quiet_ticks_and_leaves_at_once(
    ticks: list[tuple[str, bool]],
) -> None:
    quiet_listeners = QuietListeners(settle_ticks=3)
    history: dict[str, list[bool]] = {name: [] for name in "abcd"}
    for loud_one, everyone_quiet in ticks:
        names = list("abcd")
        flags = [everyone_quiet or name != loud_one for name in names]
        settled = quiet_listeners.update(names, flags)
        for name, flag in zip(names, flags, strict=True):
            history[name].append(flag)
            expected = len(history[name]) >= 3 and all(history[name][-3:])
            assert (name in settled) == expected
        if not everyone_quiet:
            assert loud_one not in settled  # never hears the mix that leaves them out


def test_a_participant_who_leaves_and_returns_settles_again_and_bad_input_is_refused() -> None:
    quiet_listeners = QuietListeners(settle_ticks=2)
    assert quiet_listeners.update(["a", "b"], [True, True]) == set()
    for _ in range(3):
        assert quiet_listeners.update(["a", "b"], [True, True]) == {"a", "b"}
    assert quiet_listeners.update(["b"], [True]) == {"b"}
    assert quiet_listeners.update(["a", "b"], [True, True]) == {"b"}
    assert quiet_listeners.update(["a", "b"], [True, True]) == {"a", "b"}
    with pytest.raises(InvalidInput):
        quiet_listeners.update(["a"], [True, False])
    with pytest.raises(InvalidInput):
        QuietListeners(settle_ticks=0)


def test_listeners_of_equal_encoders_share_one_and_each_keeps_its_own_timeline() -> None:
    plain = ResilientOpusEncoder(channels=1, complexity=9)
    same = ResilientOpusEncoder(channels=1, complexity=9)
    other = ResilientOpusEncoder(channels=1, complexity=9, loss_percent=30)
    red = ResilientRedEncoder(111, channels=1, complexity=9)
    assert plain.sharing_key() == same.sharing_key() == plain.twin().sharing_key()
    assert other.sharing_key() != plain.sharing_key() != red.sharing_key()
    assert red.twin().sharing_key() == red.sharing_key()

    one, two = MixedAudioTrack(), MixedAudioTrack()
    one.encode_with(plain)
    two.encode_with(same)
    assert one.sharing_key() == two.sharing_key()
    assert MixedAudioTrack().sharing_key() is None  # aiortc encodes for it: nothing to share
    # `one` has been encoding on its own for three ticks, `two` joins afresh.
    for _ in range(3):
        one.deliver(one.encode(tone(500)), S, ntp_now())
    shared = SharedEncoder(plain.twin())
    payloads = shared.encode(tone(500))
    assert payloads and all(isinstance(p, bytes) for p in payloads)
    first = one.packetize(payloads, S)
    second = two.packetize(payloads, S)
    assert [bytes(p) for p in first] == [bytes(p) for p in second] == payloads
    assert first[0].pts == 3 * S and second[0].pts == 0  # each listener's own clock
    # Back on its own encoder, `one` goes on where the shared packets left its clock.
    assert one.packetize(one.encode(tone(500)), S)[0].pts == 4 * S
