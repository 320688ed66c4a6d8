"""Trading calendar of one venue: its local session hours, trading weekdays and holidays.

Pure. A session is the interval [open, close) of one local trading day; its instants are the
local wall-clock open and close of that day converted with zoneinfo, so DST is followed. All
instants taken must be timezone-aware; instants returned are in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SEARCH_DAYS = 370
"""How far ahead next_open/next_close look before deciding the calendar never trades."""

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class TradingCalendar:
    """Session hours of one venue.

    name          the venue, e.g. "XLON"
    timezone      IANA time zone of the venue, e.g. "Europe/London"
    open          local opening time (naive), inclusive
    close         local closing time (naive), exclusive; after open on the same local day
    trading_days  date.weekday() numbers (Monday = 0) on which the venue trades; Mon-Fri
    holidays      local dates on which it does not trade although a trading weekday; none
    """

    name: str
    timezone: str
    open: time
    close: time
    trading_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"{self.name}: unknown time zone {self.timezone!r}") from exc
        if self.open.tzinfo is not None or self.close.tzinfo is not None:
            raise ValueError(f"{self.name}: open and close are local times without a tzinfo")
        if not self.open < self.close:
            raise ValueError(
                f"{self.name}: open {_clock(self.open)} must be before close {_clock(self.close)}"
            )
        days = frozenset(self.trading_days)
        if not days:
            raise ValueError(f"{self.name}: no trading days")
        if not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
            raise ValueError(
                f"{self.name}: trading days are weekday numbers 0 (Monday) to 6, got {sorted(days)}"
            )
        object.__setattr__(self, "trading_days", days)
        object.__setattr__(self, "holidays", frozenset(self.holidays))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_trading_day(self, day: date) -> bool:
        """Whether the local date `day` is a trading weekday and not a holiday."""
        return day.weekday() in self.trading_days and day not in self.holidays

    def is_open(self, at: datetime) -> bool:
        """Whether the aware instant `at` falls in a session (open inclusive, close exclusive)."""
        _require_aware(at, "at")
        local_day = at.astimezone(self.zone).date()
        # The neighbouring days too, so that no DST or date-line oddity can hide a session.
        return any(o <= at < c for o, c in self._sessions(local_day - _ONE_DAY, 3))

    def next_open(self, after: datetime) -> datetime:
        """The first session open at or after `after`, in UTC."""
        _require_aware(after, "after")
        for opening, _ in self._sessions_around(after):
            if opening >= after:
                return opening
        raise self._no_session(after)

    def next_close(self, after: datetime) -> datetime:
        """The first session close strictly after `after`, in UTC: the current session's close
        when `after` is inside one."""
        _require_aware(after, "after")
        for _, closing in self._sessions_around(after):
            if closing > after:
                return closing
        raise self._no_session(after)

    def hours_text(self) -> str:
        """The hours for a person, e.g. "08:00-16:30 Europe/London, Mon-Fri"."""
        return (
            f"{_clock(self.open)}-{_clock(self.close)} {self.timezone}, "
            f"{_days_text(self.trading_days)}"
        )

    def closed_text(self, at: datetime) -> str:
        """Why the venue is not trading at `at` and when it next opens (for Text (58))."""
        _require_aware(at, "at")
        local_day = at.astimezone(self.zone).date()
        if self.is_open(at):
            reason = f"inside the trading hours of {self.name} ({self.hours_text()})"
            return f"{reason}; next close {self._local_text(self.next_close(at))}"
        if local_day in self.holidays and local_day.weekday() in self.trading_days:
            reason = f"{self.name} is closed on {local_day.isoformat()} (holiday)"
        else:
            reason = f"outside the trading hours of {self.name} ({self.hours_text()})"
        try:
            return f"{reason}; next open {self._local_text(self.next_open(at))}"
        except ValueError:
            return f"{reason}; no session in the next {SEARCH_DAYS} days"

    def _sessions(self, first: date, days: int) -> Iterator[tuple[datetime, datetime]]:
        """(open, close) in UTC of the trading days from local date `first`, for `days` days;
        sessions a DST gap leaves empty are skipped."""
        zone = self.zone
        day = first
        for _ in range(days):
            if self.is_trading_day(day):
                opening = datetime.combine(day, self.open, tzinfo=zone).astimezone(UTC)
                closing = datetime.combine(day, self.close, tzinfo=zone).astimezone(UTC)
                if opening < closing:
                    yield opening, closing
            try:
                day += _ONE_DAY
            except OverflowError:
                return

    def _sessions_around(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Sessions in time order from the local day before `at` to SEARCH_DAYS after it."""
        local_day = at.astimezone(self.zone).date()
        first = local_day - _ONE_DAY if local_day > date.min else local_day
        return self._sessions(first, SEARCH_DAYS + 2)

    def _no_session(self, after: datetime) -> ValueError:
        return ValueError(
            f"{self.name} has no trading session within {SEARCH_DAYS} days after "
            f"{after.isoformat()}"
        )

    def _local_text(self, instant: datetime) -> str:
        local = instant.astimezone(self.zone)
        return f"{local.date().isoformat()} {_clock(local.time())} {self.timezone}"


def _require_aware(instant: datetime, what: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {instant.isoformat()}")


def _clock(t: time) -> str:
    """HH:MM, with :SS (and .ffffff) only when not zero."""
    if t.microsecond:
        return t.strftime("%H:%M:%S.%f")
    if t.second:
        return t.strftime("%H:%M:%S")
    return t.strftime("%H:%M")


def _days_text(days: frozenset[int]) -> str:
    """The days for a person: every day; runs of three or more as Mon-Fri (also across
    Sunday, Sun-Thu); others listed as Mon, Wed, Fri."""
    if len(days) == 7:
        return "every day"
    start = next(d for d in range(7) if d in days and (d - 1) % 7 not in days)
    runs: list[list[int]] = []
    for offset in range(7):
        day = (start + offset) % 7
        if day not in days:
            continue
        if runs and (runs[-1][-1] + 1) % 7 == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{_DAY_NAMES[run[0]]}-{_DAY_NAMES[run[-1]]}")
        else:
            parts.extend(_DAY_NAMES[d] for d in run)
    return ", ".join(parts)
