"""Service windows and login throttling: pure functions, checked with hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.platform import (
    OutsideServiceHours,
    ServiceHours,
    ServiceWindow,
    ThrottlePolicy,
    check_service_hours,
)
from zhanye_sdk.platform.hours import parse_clock_time
from zhanye_sdk.platform.throttle import retry_after

times = st.times().map(lambda t: t.replace(microsecond=0))
windows = st.builds(ServiceWindow, times, times)


def seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


@given(windows, times)
def test_window_contains_matches_its_definition(window: ServiceWindow, moment: time) -> None:
    s, e, m = seconds(window.start), seconds(window.end), seconds(moment)
    expected = s <= m <= e if s <= e else (m >= s or m <= e)
    assert window.contains(moment) is expected


@given(st.none() | windows, st.none() | windows, st.datetimes(timezones=st.just(UTC)))
def test_open_iff_inside_some_window(
    morning: ServiceWindow | None, afternoon: ServiceWindow | None, moment: datetime
) -> None:
    hours = ServiceHours(morning=morning, afternoon=afternoon, timezone="UTC")
    inside = [w.contains(moment.time()) for w in (morning, afternoon) if w is not None]
    assert hours.is_open(moment) is (any(inside) if inside else True)


def test_manual_all_day_window_is_always_open() -> None:
    hours = ServiceHours(
        morning=ServiceWindow.parse("00:00:00", "11:59:59"),
        afternoon=ServiceWindow.parse("12:00:00", "23:59:59"),
    )
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for minute in range(0, 24 * 60, 7):
        assert hours.is_open(start + timedelta(minutes=minute, seconds=59))


def test_lunch_break_is_closed_and_the_error_names_the_windows() -> None:
    hours = ServiceHours(
        morning=ServiceWindow.parse("09:00", "12:00"),
        afternoon=ServiceWindow.parse("13:30", "18:00"),
        timezone="Asia/Shanghai",
    )
    lunch = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)  # 12:30 in Shanghai
    with pytest.raises(OutsideServiceHours) as closed:
        check_service_hours("远程展业测试机构", hours, lunch)
    message = str(closed.value)
    assert "09:00:00–12:00:00, 13:30:00–18:00:00" in message and "12:30:00" in message
    check_service_hours("远程展业测试机构", hours, lunch + timedelta(hours=1, minutes=30))


@pytest.mark.parametrize("text", ["24:00:00", "9:00", "12:60", "abc", "", "12:00:00:00"])
def test_bad_clock_times_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="HH:MM:SS"):
        parse_clock_time(text)


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        ServiceHours(timezone="Mars/Olympus")


def test_naive_moment_is_refused() -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        ServiceHours().is_open(datetime(2026, 1, 1))


@given(st.data(), st.integers(0, 2_000_000), st.integers(1, 8), st.integers(1, 1000))
def test_throttle_locks_exactly_while_enough_failures_are_recent(
    data: st.DataObject, now: int, limit: int, window_s: int
) -> None:
    # Failures are recorded as they happen, so none lies in the future.
    failures = data.draw(st.lists(st.integers(0, now), max_size=30))
    policy = ThrottlePolicy(limit=limit, window_s=window_s)
    recent = [t for t in failures if now - window_s * 1000 < t <= now]
    wait = retry_after(failures, now, policy)
    assert (wait is not None) is (len(recent) >= limit)
    if wait is not None:
        later = now + round(wait * 1000)
        assert retry_after(failures, later, policy) is None
        if wait >= 0.002:
            assert retry_after(failures, later - 1, policy) is not None


@given(times, times)
def test_an_input_window_must_end_after_it_starts(start: time, end: time) -> None:
    text = (f"{start:%H:%M:%S}", f"{end:%H:%M:%S}")
    if end > start:
        assert ServiceWindow.parse(*text) == ServiceWindow(start, end)
        return
    with pytest.raises(InvalidInput) as refused:
        ServiceWindow.parse(*text)
    # Said to the person in Chinese, with the window they typed.
    assert refused.value.zh is not None and "结束时间须晚于开始时间" in refused.value.zh
    assert f"{text[0]}–{text[1]}" in refused.value.zh


def test_the_manuals_inverted_window_is_refused_not_read_as_a_night_shift() -> None:
    with pytest.raises(InvalidInput, match="does not end after it starts"):
        ServiceWindow.parse("12:00:00", "09:00:00")
    with pytest.raises(InvalidInput):
        ServiceHours(afternoon=ServiceWindow(time(12), time(9))).checked()


@given(windows, st.datetimes(timezones=st.just(UTC)))
def test_an_unset_window_is_closed_once_the_other_is_set(
    window: ServiceWindow, moment: datetime
) -> None:
    # Only a morning window: the afternoon is closed, not open all day.
    for hours in (
        ServiceHours(morning=window, timezone="UTC"),
        ServiceHours(afternoon=window, timezone="UTC"),
    ):
        assert hours.is_open(moment) is window.contains(moment.time())
        assert not hours.all_day
        assert "休息" in hours.describe_zh()


@given(st.datetimes(timezones=st.just(UTC)))
def test_no_window_at_all_is_open_all_day_and_says_so(moment: datetime) -> None:
    hours = ServiceHours(timezone="UTC")
    assert hours.is_open(moment) and hours.all_day
    assert hours.describe_zh() == "全天"


def test_hours_describe_themselves_as_a_person_reads_them() -> None:
    morning_only = ServiceHours(morning=ServiceWindow.parse("09:00", "12:00"))
    assert morning_only.describe_zh() == "上午 09:00:00–12:00:00，下午休息"
    # A window stored before the rule and running past midnight says so.
    night = ServiceHours(afternoon=ServiceWindow(time(22), time(2)))
    assert night.afternoon is not None and night.afternoon.overnight
    assert night.describe_zh() == "上午休息，下午 22:00:00–02:00:00（跨夜）"
    lunch = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai: afternoon unset
    with pytest.raises(OutsideServiceHours) as closed:
        check_service_hours("远程展业测试机构", morning_only, lunch)
    assert closed.value.zh is not None and "下午休息" in closed.value.zh
