"""Trading calendars: session boundaries, weekends, holidays, DST, next open/close, texts.

A session is [open, close) of a local trading day. London is checked in winter (GMT, local
time = UTC) and summer (BST, UTC+1), New York across both 2026 DST changes, and a UTC venue
trading every day 00:00:00-23:59:59. Hypothesis then checks next_open/next_close against
is_open for random instants in several zones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qtinfra.risk.calendar import SEARCH_DAYS, TradingCalendar

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
US = timedelta(microseconds=1)
CHRISTMAS = date(2026, 12, 25)  # Friday
BOXING_DAY_SUBSTITUTE = date(2026, 12, 28)  # Monday (26 December is a Saturday)

XLON = TradingCalendar(
    "XLON",
    "Europe/London",
    time(8, 0),
    time(16, 30),
    holidays=frozenset({CHRISTMAS, BOXING_DAY_SUBSTITUTE}),
)
XNYS = TradingCalendar("XNYS", "America/New_York", time(9, 30), time(16, 0))
ALL_DAY = TradingCalendar(
    "ALLD", "UTC", time(0, 0, 0), time(23, 59, 59), trading_days=frozenset(range(7))
)


def utc(
    year: int, month: int, day: int, hour: int, minute: int, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


# -- construction ------------------------------------------------------------------------------


def test_defaults_are_monday_to_friday_without_holidays() -> None:
    calendar = TradingCalendar("XNYS", "America/New_York", time(9, 30), time(16, 0))
    assert calendar.trading_days == frozenset({0, 1, 2, 3, 4})
    assert calendar.holidays == frozenset()


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "Europe/Londn", "../etc/passwd"])
def test_unknown_time_zone_is_rejected(zone: str) -> None:
    with pytest.raises(ValueError, match="XLON: unknown time zone"):
        TradingCalendar("XLON", zone, time(8), time(16, 30))


@pytest.mark.parametrize(
    ("open_", "close"),
    [(time(16, 30), time(16, 30)), (time(16, 30), time(8)), (time(0, 0, 1), time(0, 0, 0))],
)
def test_open_not_before_close_is_rejected(open_: time, close: time) -> None:
    with pytest.raises(ValueError, match="must be before close"):
        TradingCalendar("XLON", "Europe/London", open_, close)


def test_empty_trading_days_are_rejected() -> None:
    with pytest.raises(ValueError, match="XLON: no trading days"):
        TradingCalendar("XLON", "Europe/London", time(8), time(16, 30), trading_days=frozenset())


@pytest.mark.parametrize("days", [{7}, {-1}, {0, 1, 9}])
def test_trading_days_outside_monday_to_sunday_are_rejected(days: set[int]) -> None:
    with pytest.raises(ValueError, match="weekday numbers 0"):
        TradingCalendar(
            "XLON", "Europe/London", time(8), time(16, 30), trading_days=frozenset(days)
        )


def test_open_with_a_tzinfo_is_rejected() -> None:
    with pytest.raises(ValueError, match="without a tzinfo"):
        TradingCalendar("XLON", "Europe/London", time(8, tzinfo=UTC), time(16, 30))


# -- is_open -----------------------------------------------------------------------------------


def test_open_boundary_is_inclusive() -> None:
    assert XLON.is_open(utc(2026, 11, 25, 8, 0))
    assert not XLON.is_open(utc(2026, 11, 25, 8, 0) - US)


def test_close_boundary_is_exclusive() -> None:
    assert XLON.is_open(utc(2026, 11, 25, 16, 30) - US)
    assert not XLON.is_open(utc(2026, 11, 25, 16, 30))


def test_the_instant_may_be_given_in_any_zone() -> None:
    assert XLON.is_open(datetime(2026, 11, 25, 3, 0, tzinfo=NEW_YORK))  # 08:00 in London
    assert not XLON.is_open(datetime(2026, 11, 25, 2, 59, 59, tzinfo=NEW_YORK))


@pytest.mark.parametrize("day", [28, 29])  # Saturday, Sunday
@pytest.mark.parametrize("hour", [0, 8, 12, 16, 23])
def test_weekends_are_closed(day: int, hour: int) -> None:
    assert not XLON.is_open(utc(2026, 11, day, hour, 0))


def test_holidays_are_closed_all_day() -> None:
    assert not XLON.is_trading_day(CHRISTMAS)
    assert not XLON.is_open(utc(2026, 12, 25, 12, 0))
    assert not XLON.is_open(utc(2026, 12, 28, 8, 0))
    assert XLON.is_trading_day(date(2026, 12, 24))
    assert XLON.is_open(utc(2026, 12, 24, 12, 0))


def test_weekdays_outside_trading_days_are_not_trading_days() -> None:
    assert XLON.is_trading_day(date(2026, 11, 27))  # Friday
    assert not XLON.is_trading_day(date(2026, 11, 28))  # Saturday


@pytest.mark.parametrize("method", ["is_open", "next_open", "next_close", "closed_text"])
def test_naive_datetime_is_rejected(method: str) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        getattr(XLON, method)(datetime(2026, 11, 25, 12, 0))


# -- next_close --------------------------------------------------------------------------------


def test_next_close_during_a_session_is_that_sessions_close() -> None:
    assert XLON.next_close(utc(2026, 11, 25, 8, 0)) == utc(2026, 11, 25, 16, 30)
    assert XLON.next_close(utc(2026, 11, 25, 16, 30) - US) == utc(2026, 11, 25, 16, 30)


def test_next_close_at_or_after_close_is_the_next_days_close() -> None:
    assert XLON.next_close(utc(2026, 11, 25, 16, 30)) == utc(2026, 11, 26, 16, 30)
    assert XLON.next_close(utc(2026, 11, 25, 20, 0)) == utc(2026, 11, 26, 16, 30)


def test_next_close_before_open_is_the_same_days_close() -> None:
    assert XLON.next_close(utc(2026, 11, 25, 6, 0)) == utc(2026, 11, 25, 16, 30)


def test_next_close_on_friday_evening_is_mondays_close() -> None:
    assert XLON.next_close(utc(2026, 11, 27, 18, 0)) == utc(2026, 11, 30, 16, 30)
    assert XLON.next_close(utc(2026, 11, 28, 12, 0)) == utc(2026, 11, 30, 16, 30)


def test_next_close_skips_holidays() -> None:
    assert XLON.next_close(utc(2026, 12, 24, 17, 0)) == utc(2026, 12, 29, 16, 30)


def test_next_close_is_returned_in_utc() -> None:
    closing = XLON.next_close(datetime(2026, 11, 25, 4, 0, tzinfo=NEW_YORK))
    assert closing.tzinfo is UTC
    assert closing == utc(2026, 11, 25, 16, 30)


# -- next_open ---------------------------------------------------------------------------------


def test_next_open_before_open_is_the_same_days_open() -> None:
    assert XLON.next_open(utc(2026, 11, 25, 6, 0)) == utc(2026, 11, 25, 8, 0)


def test_next_open_at_the_open_is_that_instant() -> None:
    assert XLON.next_open(utc(2026, 11, 25, 8, 0)) == utc(2026, 11, 25, 8, 0)


def test_next_open_during_a_session_is_the_next_sessions_open() -> None:
    assert XLON.next_open(utc(2026, 11, 25, 8, 0) + US) == utc(2026, 11, 26, 8, 0)
    assert XLON.next_open(utc(2026, 11, 25, 12, 0)) == utc(2026, 11, 26, 8, 0)


def test_next_open_on_friday_evening_is_monday() -> None:
    assert XLON.next_open(utc(2026, 11, 27, 16, 30)) == utc(2026, 11, 30, 8, 0)


def test_next_open_skips_holidays() -> None:
    assert XLON.next_open(utc(2026, 12, 24, 16, 30)) == utc(2026, 12, 29, 8, 0)
    assert XLON.next_open(utc(2026, 12, 25, 7, 0)) == utc(2026, 12, 29, 8, 0)


def test_next_open_is_returned_in_utc() -> None:
    opening = XLON.next_open(datetime(2026, 7, 15, 0, 0, tzinfo=LONDON))
    assert opening.tzinfo is UTC
    assert opening == utc(2026, 7, 15, 7, 0)


def test_a_calendar_that_never_trades_raises_instead_of_searching_forever() -> None:
    mondays = frozenset(date(2026, 11, 30) + timedelta(weeks=w) for w in range(60))
    never = TradingCalendar(
        "NONE", "UTC", time(9), time(17), trading_days=frozenset({0}), holidays=mondays
    )
    start = utc(2026, 11, 25, 12, 0)
    with pytest.raises(ValueError, match=f"NONE has no trading session within {SEARCH_DAYS} days"):
        never.next_open(start)
    with pytest.raises(ValueError, match="NONE has no trading session"):
        never.next_close(start)
    assert not never.is_open(utc(2026, 11, 30, 12, 0))
    assert never.closed_text(start).endswith(f"; no session in the next {SEARCH_DAYS} days")


# -- DST ---------------------------------------------------------------------------------------


def test_london_in_summer_trades_0700_to_1530_utc() -> None:
    assert not XLON.is_open(utc(2026, 7, 15, 7, 0) - US)
    assert XLON.is_open(utc(2026, 7, 15, 7, 0))
    assert XLON.is_open(utc(2026, 7, 15, 15, 30) - US)
    assert not XLON.is_open(utc(2026, 7, 15, 15, 30))
    assert XLON.next_close(utc(2026, 7, 15, 10, 0)) == utc(2026, 7, 15, 15, 30)


def test_london_in_winter_trades_0800_to_1630_utc() -> None:
    assert not XLON.is_open(utc(2026, 1, 14, 8, 0) - US)
    assert XLON.is_open(utc(2026, 1, 14, 8, 0))
    assert not XLON.is_open(utc(2026, 1, 14, 16, 30))
    assert XLON.next_close(utc(2026, 1, 14, 10, 0)) == utc(2026, 1, 14, 16, 30)


def test_london_opens_an_hour_earlier_in_utc_after_the_clocks_go_forward() -> None:
    # BST starts on Sunday 29 March 2026.
    assert XLON.next_close(utc(2026, 3, 27, 12, 0)) == utc(2026, 3, 27, 16, 30)
    assert XLON.next_open(utc(2026, 3, 27, 16, 30)) == utc(2026, 3, 30, 7, 0)
    assert XLON.next_close(utc(2026, 3, 27, 16, 30)) == utc(2026, 3, 30, 15, 30)


@pytest.mark.parametrize(
    ("friday", "monday", "friday_utc", "monday_utc"),
    [
        # EDT starts on Sunday 8 March 2026: UTC-5 before, UTC-4 after.
        (date(2026, 3, 6), date(2026, 3, 9), (14, 30, 21), (13, 30, 20)),
        # EST returns on Sunday 1 November 2026.
        (date(2026, 10, 30), date(2026, 11, 2), (13, 30, 20), (14, 30, 21)),
    ],
)
def test_new_york_across_a_dst_change(
    friday: date,
    monday: date,
    friday_utc: tuple[int, int, int],
    monday_utc: tuple[int, int, int],
) -> None:
    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)

    f_open_h, f_open_m, f_close_h = friday_utc
    m_open_h, m_open_m, m_close_h = monday_utc
    assert XNYS.is_open(at(friday, f_open_h, f_open_m))
    assert not XNYS.is_open(at(friday, f_open_h, f_open_m) - US)
    assert XNYS.next_close(at(friday, f_open_h, f_open_m)) == at(friday, f_close_h)
    assert XNYS.next_open(at(friday, f_close_h)) == at(monday, m_open_h, m_open_m)
    assert XNYS.next_close(at(friday, f_close_h)) == at(monday, m_close_h)
    assert not XNYS.is_open(at(monday, m_open_h, m_open_m) - US)
    assert XNYS.is_open(at(monday, m_open_h, m_open_m))
    assert XNYS.is_open(at(monday, m_close_h) - US)
    assert not XNYS.is_open(at(monday, m_close_h))


# -- a venue open every day, to the second -----------------------------------------------------


def test_every_day_calendar_is_open_from_midnight_to_one_second_before_midnight() -> None:
    assert ALL_DAY.is_open(utc(2026, 11, 28, 0, 0, 0))  # Saturday
    assert ALL_DAY.is_open(utc(2026, 11, 29, 12, 0, 0))  # Sunday
    assert ALL_DAY.is_open(utc(2026, 11, 29, 23, 59, 59) - US)
    assert not ALL_DAY.is_open(utc(2026, 11, 29, 23, 59, 59))
    assert not ALL_DAY.is_open(utc(2026, 11, 29, 23, 59, 59, 999999))


def test_every_day_calendar_next_open_and_close_around_midnight() -> None:
    last_second = utc(2026, 11, 29, 23, 59, 59, 500000)
    assert ALL_DAY.next_open(last_second) == utc(2026, 11, 30, 0, 0, 0)
    assert ALL_DAY.next_close(last_second) == utc(2026, 11, 30, 23, 59, 59)
    assert ALL_DAY.next_close(utc(2026, 11, 29, 23, 59, 58)) == utc(2026, 11, 29, 23, 59, 59)


# -- texts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "text"),
    [
        ({0, 1, 2, 3, 4}, "Mon-Fri"),
        (set(range(7)), "every day"),
        ({0, 2, 4}, "Mon, Wed, Fri"),
        ({6, 0, 1, 2, 3}, "Sun-Thu"),
        ({5, 6}, "Sat, Sun"),
        ({0, 1, 2, 4}, "Mon-Wed, Fri"),
        ({3}, "Thu"),
    ],
)
def test_hours_text_lists_days_compactly(days: set[int], text: str) -> None:
    calendar = TradingCalendar(
        "XLON", "Europe/London", time(8), time(16, 30), trading_days=frozenset(days)
    )
    assert calendar.hours_text() == f"08:00-16:30 Europe/London, {text}"


def test_hours_text_shows_seconds_only_when_not_zero() -> None:
    assert XLON.hours_text() == "08:00-16:30 Europe/London, Mon-Fri"
    assert ALL_DAY.hours_text() == "00:00-23:59:59 UTC, every day"


def test_closed_text_after_close_names_the_venue_hours_and_next_open() -> None:
    assert XLON.closed_text(utc(2026, 11, 24, 17, 0)) == (
        "outside the trading hours of XLON (08:00-16:30 Europe/London, Mon-Fri); "
        "next open 2026-11-25 08:00 Europe/London"
    )


def test_closed_text_at_the_weekend_gives_mondays_open() -> None:
    assert XLON.closed_text(utc(2026, 11, 28, 12, 0)) == (
        "outside the trading hours of XLON (08:00-16:30 Europe/London, Mon-Fri); "
        "next open 2026-11-30 08:00 Europe/London"
    )


def test_closed_text_gives_the_next_open_in_local_time() -> None:
    # Saturday in summer: Monday 08:00 BST is 07:00 UTC.
    assert XLON.closed_text(utc(2026, 7, 18, 12, 0)).endswith(
        "next open 2026-07-20 08:00 Europe/London"
    )


def test_closed_text_on_a_holiday_says_so() -> None:
    assert XLON.closed_text(utc(2026, 12, 25, 10, 0)) == (
        "XLON is closed on 2026-12-25 (holiday); next open 2026-12-29 08:00 Europe/London"
    )


def test_closed_text_while_open_says_when_it_closes() -> None:
    assert XLON.closed_text(utc(2026, 11, 25, 12, 0)) == (
        "inside the trading hours of XLON (08:00-16:30 Europe/London, Mon-Fri); "
        "next close 2026-11-25 16:30 Europe/London"
    )


# -- properties --------------------------------------------------------------------------------

# Calendars whose sessions never contain a DST change, so a session lasts exactly close - open.
CALENDARS = [
    XLON,
    XNYS,
    ALL_DAY,
    TradingCalendar(
        "XSAU", "Asia/Riyadh", time(10), time(15), trading_days=frozenset({6, 0, 1, 2, 3})
    ),
    TradingCalendar(
        "MWF", "Australia/Sydney", time(10, 0, 0, 1), time(16, 0, 30), frozenset({0, 2, 4})
    ),
]
ZONES = [UTC, LONDON, NEW_YORK, ZoneInfo("Asia/Tokyo"), ZoneInfo("Australia/Sydney")]

instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.sampled_from(ZONES)
)


def session_length(calendar: TradingCalendar) -> timedelta:
    return datetime.combine(date.min, calendar.close) - datetime.combine(date.min, calendar.open)


@given(st.sampled_from(CALENDARS), instants)
def test_next_close_is_after_t_and_within_one_session_when_open(
    calendar: TradingCalendar, t: datetime
) -> None:
    closing = calendar.next_close(t)
    assert closing > t
    assert calendar.is_open(closing - US)
    if calendar.is_open(t):
        assert closing - t <= session_length(calendar)


@given(st.sampled_from(CALENDARS), instants)
def test_next_open_is_open_and_comes_before_the_next_close_when_closed(
    calendar: TradingCalendar, t: datetime
) -> None:
    opening = calendar.next_open(t)
    assert opening >= t
    assert calendar.is_open(opening)
    assert not calendar.is_open(opening - US)
    if not calendar.is_open(t):
        assert t < opening < calendar.next_close(t)
    elif opening > t:
        assert calendar.next_close(t) < opening
