"""The system clock's synchronisation to UTC, as the OS reports it (MiFID II RTS 25).

Every timestamp the gateway records comes from the system clock (`utc_now`), so RTS 25
Art. 4 asks the firm to show that this clock stayed within the maximum divergence from
UTC (Annex Table 2: 1 ms, 100 µs for high-frequency trading). The gateway does not
measure the clock itself; it records what the time daemon and the kernel say:

1. chrony, when `chronyc` is installed and its daemon answers (`chronyc -c tracking`, with
   a timeout): the reference, stratum, leap status, the system clock's offset and chrony's
   bound on its error (|offset| + root dispersion + root delay / 2, chronyc(1) "tracking");
2. else the kernel (Linux `adjtimex(2)`, read only): TIME_OK/TIME_ERROR, STA_UNSYNC, the
   offset it is still correcting, maxerror and esterror. ntpd and systemd-timesyncd show
   up here: they discipline the kernel clock (`timedatectl`'s NTPSynchronized is this
   same kernel flag);
3. else "unknown", said plainly: nothing shows the clock's divergence from UTC.

Offsets are the system clock minus the source's time (positive: the clock is ahead), in
microseconds, as exact Decimals of what the source printed or returned.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum

import orjson

from qtinfra.ops.metrics import (
    CLOCK_EST_ERROR,
    CLOCK_HFT,
    CLOCK_MAX_DIVERGENCE,
    CLOCK_MAX_ERROR,
    CLOCK_OFFSET,
    CLOCK_READ_TIME,
    CLOCK_SOURCE,
    CLOCK_SYNCHRONISED,
)

JOURNAL_KIND = "clock.status"
"""The journal rows of the clock record (one at start, then one per [clock] interval)."""
SOURCE_CHRONY = "chrony"
SOURCE_KERNEL = "kernel adjtimex"
SOURCE_UNKNOWN = "unknown"


class ClockState(StrEnum):
    SYNCHRONISED = "synchronised"
    """The source reports the clock disciplined to an external time source."""
    UNSYNCHRONISED = "unsynchronised"
    """The source reports that it is not (no server reached yet, lost, local mode)."""
    UNKNOWN = "unknown"
    """Nothing could be read."""


@dataclass(frozen=True, slots=True)
class ClockStatus:
    """One reading of the clock's synchronisation, as its source reported it.

    offset_us: system clock minus the source's time. max_error_us: the source's bound on
    the clock's error (chrony: |offset| + root dispersion + root delay / 2; kernel:
    maxerror). est_error_us: its estimate (chrony: RMS offset; kernel: esterror). reference:
    chrony's reference (name or address and reference id). detail: what was read, in a
    sentence an auditor can read, including why a better source was not used.
    """

    source: str
    state: ClockState
    detail: str
    offset_us: Decimal | None = None
    max_error_us: Decimal | None = None
    est_error_us: Decimal | None = None
    reference: str | None = None
    stratum: int | None = None


# -- chrony ----------------------------------------------------------------------------------

_CHRONY_FIELDS = 14
_CHRONY_SYNCED_LEAP = ("Normal", "Insert second", "Delete second")
_CHRONY_LOCAL_REFS = ("7F7F0101", "4C4F434C")  # 127.127.1.1, "LOCL": the `local` directive


def _seconds_to_us(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"chronyc tracking: {what} {text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"chronyc tracking: {what} {text!r} is not a number")
    return value.scaleb(6)


def parse_chrony_tracking(text: str) -> ClockStatus:
    """`chronyc -c tracking` (one CSV line: reference id, name or address, stratum, ref
    time, system time, last offset, RMS offset, frequency, residual frequency, skew, root
    delay, root dispersion, update interval, leap status; chrony's client.c). Raises
    ValueError for anything else."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("chronyc tracking printed nothing")
    fields = lines[-1].strip().split(",")
    if len(fields) < _CHRONY_FIELDS:
        raise ValueError(f"chronyc tracking: expected {_CHRONY_FIELDS} fields: {lines[-1]!r}")
    extra = len(fields) - _CHRONY_FIELDS  # a name holding commas
    ref_id, name = fields[0], ",".join(fields[1 : 2 + extra])
    stratum_text, _ref_time, system_time, _last, rms = fields[2 + extra : 7 + extra]
    root_delay, root_dispersion, _interval, leap = fields[10 + extra :]
    try:
        stratum = int(stratum_text)
    except ValueError:
        raise ValueError(f"chronyc tracking: stratum {stratum_text!r} is not a number") from None
    # "System time: x seconds slow of NTP time" is printed as +x: the clock is behind.
    offset = -_seconds_to_us(system_time, "system time")
    bound = (
        abs(offset)
        + _seconds_to_us(root_dispersion, "root dispersion")
        + _seconds_to_us(root_delay, "root delay") / 2
    )
    reference = f"{name or '-'} ({ref_id})"
    if leap not in _CHRONY_SYNCED_LEAP:
        state, why = ClockState.UNSYNCHRONISED, f"leap status {leap!r}: not synchronised"
    elif ref_id.upper() in _CHRONY_LOCAL_REFS:
        state = ClockState.UNSYNCHRONISED
        why = "local mode: the clock follows itself, not a UTC source"
    else:
        state, why = ClockState.SYNCHRONISED, f"synchronised, leap status {leap}"
    return ClockStatus(
        source=SOURCE_CHRONY,
        state=state,
        detail=(
            f"chrony: {why}; reference {reference}, stratum {stratum}; system time "
            f"{system_time} s (positive: slow of NTP time), root delay {root_delay} s, "
            f"root dispersion {root_dispersion} s"
        ),
        offset_us=offset,
        max_error_us=bound,
        est_error_us=_seconds_to_us(rms, "RMS offset"),
        reference=reference,
        stratum=stratum,
    )


def chrony_tracking(timeout: float) -> tuple[str | None, str]:
    """chronyc's CSV tracking line, or None and why there is none (not installed, no
    answer from chronyd within timeout seconds, an error)."""
    chronyc = shutil.which("chronyc")
    if chronyc is None:
        return None, "chronyc is not installed"
    try:
        done = subprocess.run(
            [chronyc, "-c", "-n", "tracking"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"chronyc did not answer within {timeout:g} s"
    except OSError as exc:
        return None, f"chronyc could not run: {exc}"
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        return None, f"chronyc failed ({said[-1] if said else f'exit {done.returncode}'})"
    return done.stdout, ""


# -- the kernel ------------------------------------------------------------------------------

TIME_STATES = {0: "TIME_OK", 1: "TIME_INS", 2: "TIME_DEL", 3: "TIME_OOP", 4: "TIME_WAIT"}
TIME_ERROR = 5
STA_UNSYNC = 0x0040
STA_NANO = 0x2000
STA_FLAGS = {
    0x0001: "STA_PLL",
    0x0002: "STA_PPSFREQ",
    0x0004: "STA_PPSTIME",
    0x0008: "STA_FLL",
    0x0010: "STA_INS",
    0x0020: "STA_DEL",
    STA_UNSYNC: "STA_UNSYNC",
    0x0080: "STA_FREQHOLD",
    0x0100: "STA_PPSSIGNAL",
    0x0200: "STA_PPSJITTER",
    0x0400: "STA_PPSWANDER",
    0x0800: "STA_PPSERROR",
    0x1000: "STA_CLOCKERR",
    STA_NANO: "STA_NANO",
    0x4000: "STA_MODE",
    0x8000: "STA_CLK",
}


def from_timex(result: int, status: int, offset: int, maxerror: int, esterror: int) -> ClockStatus:
    """A kernel reading: adjtimex(2)'s return value (TIME_OK ... TIME_ERROR) and the
    struct timex fields it filled (offset in ns with STA_NANO, else µs; maxerror and
    esterror in µs). Synchronised unless TIME_ERROR or STA_UNSYNC."""
    flags = [name for bit, name in STA_FLAGS.items() if status & bit] or ["none"]
    state_name = "TIME_ERROR" if result == TIME_ERROR else TIME_STATES.get(result, str(result))
    remaining = Decimal(offset).scaleb(-3) if status & STA_NANO else Decimal(offset)
    synced = result != TIME_ERROR and not status & STA_UNSYNC
    why = (
        "the kernel clock is disciplined by a time daemon"
        if synced
        else "the kernel clock is not synchronised (no time daemon disciplines it, or it "
        "lost its source)"
    )
    return ClockStatus(
        source=SOURCE_KERNEL,
        state=ClockState.SYNCHRONISED if synced else ClockState.UNSYNCHRONISED,
        detail=(
            f"kernel adjtimex: {state_name}, status {' '.join(flags)}: {why}; maxerror "
            f"{maxerror} µs, esterror {esterror} µs"
        ),
        # The kernel adds `offset` to the clock: the clock is behind by it.
        offset_us=-remaining,
        max_error_us=Decimal(maxerror),
        est_error_us=Decimal(esterror),
    )


class _Timex(ctypes.Structure):
    """struct timex of <sys/timex.h> (Linux, glibc)."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long),
        ("time_usec", ctypes.c_long),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


def kernel_timex() -> tuple[ClockStatus | None, str]:
    """The kernel's reading (adjtimex with modes 0 only reads: no privilege needed), or
    None and why there is none."""
    if not sys.platform.startswith("linux"):
        return None, f"adjtimex(2) is Linux only (this is {sys.platform})"
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        adjtimex = libc.adjtimex
    except (OSError, AttributeError) as exc:
        return None, f"adjtimex(2) is not available: {exc}"
    adjtimex.argtypes = [ctypes.POINTER(_Timex)]
    adjtimex.restype = ctypes.c_int
    tx = _Timex()
    result = adjtimex(ctypes.byref(tx))
    if result < 0:
        return None, f"adjtimex(2) failed: errno {ctypes.get_errno()}"
    return from_timex(result, tx.status, tx.offset, tx.maxerror, tx.esterror), ""


# -- one reading ------------------------------------------------------------------------------


def read_clock(
    timeout: float = 2.0,
    chrony: Callable[[float], tuple[str | None, str]] = chrony_tracking,
    kernel: Callable[[], tuple[ClockStatus | None, str]] = kernel_timex,
) -> ClockStatus:
    """The best reading the OS offers now: chrony, else the kernel, else unknown. Never
    raises; what could not be read is named in `detail`."""
    missing = []
    text, why = chrony(timeout)
    if text is not None:
        try:
            return parse_chrony_tracking(text)
        except ValueError as exc:
            why = str(exc)
    missing.append(why)
    status, why = kernel()
    if status is not None:
        return _with_note(status, missing)
    missing.append(why)
    return ClockStatus(
        source=SOURCE_UNKNOWN,
        state=ClockState.UNKNOWN,
        detail=f"unknown: {'; '.join(missing)}. Nothing shows this clock's divergence from UTC",
    )


def _with_note(status: ClockStatus, missing: list[str]) -> ClockStatus:
    return replace(status, detail=f"{status.detail} ({'; '.join(missing)})")


def divergence_problems(status: ClockStatus, limit: int) -> list[str]:
    """Why a reading does not show the clock within `limit` µs of UTC (empty: it does).
    The bound is the source's max error; the offset is checked too."""
    if status.state is ClockState.UNKNOWN:
        return ["the clock's synchronisation could not be read: its divergence is unknown"]
    problems = []
    if status.state is ClockState.UNSYNCHRONISED:
        problems.append(f"{status.source} reports the clock unsynchronised")
    if status.max_error_us is not None and status.max_error_us > limit:
        problems.append(f"max error {status.max_error_us:,f} µs exceeds {limit:,} µs")
    if status.offset_us is not None and abs(status.offset_us) > limit:
        problems.append(f"offset {status.offset_us:,f} µs exceeds {limit:,} µs")
    return problems


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot journal {type(value).__name__}")


def journal_payload(status: ClockStatus, limit: int, hft: bool) -> str:
    """The journal row of a reading (kind clock.status): JSON, Decimals as exact strings;
    `within` is true only when the reading shows the clock within the limit."""
    problems = divergence_problems(status, limit)
    row = {
        "source": status.source,
        "state": status.state.value,
        "offset_us": status.offset_us,
        "max_error_us": status.max_error_us,
        "est_error_us": status.est_error_us,
        "reference": status.reference,
        "stratum": status.stratum,
        "max_divergence_us": limit,
        "hft": hft,
        "within": not problems,
        "problems": problems,
        "detail": status.detail,
    }
    return orjson.dumps(row, default=_json_default).decode()


def export(status: ClockStatus, limit: int, hft: bool, read_at: float) -> None:
    """Set the clock gauges (ops/metrics.py): seconds, NaN for what the source did not
    give; read_at is Unix time."""

    def seconds(us: Decimal | None) -> float:
        return float("nan") if us is None else float(us) / 1e6

    CLOCK_OFFSET.set(seconds(status.offset_us))
    CLOCK_MAX_ERROR.set(seconds(status.max_error_us))
    CLOCK_EST_ERROR.set(seconds(status.est_error_us))
    CLOCK_SYNCHRONISED.set(1 if status.state is ClockState.SYNCHRONISED else 0)
    CLOCK_MAX_DIVERGENCE.set(limit / 1e6)
    CLOCK_HFT.set(1 if hft else 0)
    CLOCK_READ_TIME.set(read_at)
    CLOCK_SOURCE.info(
        {"source": status.source, "state": status.state.value, "reference": status.reference or ""}
    )
