"""The clock's synchronisation as the OS reports it (ops/clock.py, MiFID II RTS 25): chrony's
CSV tracking line, the kernel's adjtimex values, the fallback to "unknown", the divergence
check against [clock]'s limit, the journal row and the gauges.

The chronyc lines are in the format chrony's client.c prints in CSV mode (`chronyc -c
tracking`: print_report with the human-readable units off; 14 fields). The kernel values
include what this test machine's kernel returned with no time daemon running: adjtimex()
= 5 (TIME_ERROR), status 0x40 (STA_UNSYNC), offset 0, maxerror = esterror = 16,000,000 µs.
"""

from __future__ import annotations

import ctypes
import json
import math
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from qtinfra.config import ClockConfig, load_config
from qtinfra.errors import ConfigError
from qtinfra.ops import clock
from qtinfra.ops.clock import ClockState, ClockStatus
from qtinfra.ops.metrics import REGISTRY

D = Decimal

# chronyd synchronised to an NTP server: 12.345 µs slow, root delay 1.234567 ms,
# root dispersion 345.678 µs.
CHRONY_SYNCED = "C0000201,192.0.2.1,3,1772443800.123456789,0.000012345,-0.000001234,0.000023456,-12.345,0.001,0.012,0.001234567,0.000345678,64.2,Normal\n"
# chronyd just started, or with no source reachable (chronyc shows "Reference ID :
# 00000000 ()", "Leap status : Not synchronised"; root delay and dispersion 1 s).
CHRONY_UNSYNCED = "00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,1.000000000,1.000000000,0.0,Not synchronised\n"
# A GPS reference clock (refid "GPS", no address): stratum 1, 2.1 µs fast.
CHRONY_GPS = "47505300,GPS,1,1772443800.500000000,-0.000002100,-0.000000900,0.000001500,3.210,0.000,0.004,0.000000000,0.000010000,16.0,Normal\n"
# The `local` directive: chrony serves its own clock (reference 127.127.1.1).
CHRONY_LOCAL = "7F7F0101,,10,1772443800.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,0.000000000,0.000000000,0.0,Normal\n"
# A leap second announced: still synchronised.
CHRONY_LEAP = "C0000201,192.0.2.1,2,1772443800.000000000,0.000000100,0.000000000,0.000000200,1.000,0.000,0.010,0.000200000,0.000100000,64.0,Insert second\n"


# -- chrony ----------------------------------------------------------------------------------


def test_synchronised_chrony_gives_its_offset_and_the_bound_on_its_error() -> None:
    status = clock.parse_chrony_tracking(CHRONY_SYNCED)
    assert status.source == "chrony"
    assert status.state is ClockState.SYNCHRONISED
    assert status.reference == "192.0.2.1 (C0000201)"
    assert status.stratum == 3
    # "slow of NTP time" is printed positive: the clock is 12.345 µs behind.
    assert status.offset_us == D("-12.345")
    # chronyc(1): |offset| + root dispersion + root delay / 2
    assert status.max_error_us == D("12.345") + D("345.678") + D("1234.567") / 2
    assert status.max_error_us == D("975.3065")
    assert status.est_error_us == D("23.456")
    assert "synchronised, leap status Normal" in status.detail
    assert "reference 192.0.2.1 (C0000201), stratum 3" in status.detail


def test_unsynchronised_chrony_is_unsynchronised_with_its_one_second_placeholders() -> None:
    status = clock.parse_chrony_tracking(CHRONY_UNSYNCED)
    assert status.state is ClockState.UNSYNCHRONISED
    assert status.reference == "- (00000000)"
    assert status.stratum == 0
    assert status.offset_us == 0
    assert status.max_error_us == D("1500000")
    assert "leap status 'Not synchronised': not synchronised" in status.detail


def test_a_reference_clock_is_named_by_its_refid() -> None:
    status = clock.parse_chrony_tracking(CHRONY_GPS)
    assert status.state is ClockState.SYNCHRONISED
    assert status.reference == "GPS (47505300)"
    assert status.stratum == 1
    assert status.offset_us == D("2.1")  # fast: ahead
    assert status.max_error_us == D("12.1")


def test_chrony_in_local_mode_is_not_synchronised_to_utc() -> None:
    status = clock.parse_chrony_tracking(CHRONY_LOCAL)
    assert status.state is ClockState.UNSYNCHRONISED
    assert "local mode" in status.detail


def test_a_leap_second_announcement_is_still_synchronised() -> None:
    assert clock.parse_chrony_tracking(CHRONY_LEAP).state is ClockState.SYNCHRONISED


def test_a_name_holding_commas_keeps_the_other_fields_in_place() -> None:
    line = CHRONY_SYNCED.replace("192.0.2.1", "odd,name")
    status = clock.parse_chrony_tracking(line)
    assert status.reference == "odd,name (C0000201)"
    assert status.offset_us == D("-12.345")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "printed nothing"),
        ("506 Cannot talk to daemon\n", "expected 14 fields"),
        ("C0000201,192.0.2.1,3,1.0,0.1\n", "expected 14 fields"),
        (CHRONY_SYNCED.replace(",3,", ",x,"), "stratum 'x'"),
        (CHRONY_SYNCED.replace("0.001234567", "nan"), "root delay 'nan'"),
        (CHRONY_SYNCED.replace("0.000012345", "-"), "system time '-'"),
    ],
)
def test_anything_but_a_tracking_line_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        clock.parse_chrony_tracking(text)


# -- the kernel ------------------------------------------------------------------------------


def test_the_kernel_without_a_time_daemon_is_unsynchronised() -> None:
    # What this machine's kernel returned (module docstring).
    status = clock.from_timex(5, 0x40, 0, 16_000_000, 16_000_000)
    assert status.source == "kernel adjtimex"
    assert status.state is ClockState.UNSYNCHRONISED
    assert status.max_error_us == D(16_000_000)
    assert status.est_error_us == D(16_000_000)
    assert status.offset_us == 0
    assert status.detail.startswith("kernel adjtimex: TIME_ERROR, status STA_UNSYNC: ")
    assert "not synchronised" in status.detail


def test_a_disciplined_kernel_clock_is_synchronised_with_its_offset_in_nanoseconds() -> None:
    # STA_PLL | STA_NANO: the offset is in ns; the kernel still adds 12,345 ns (behind).
    status = clock.from_timex(0, 0x2001, 12_345, 2_500, 800)
    assert status.state is ClockState.SYNCHRONISED
    assert status.offset_us == D("-12.345")
    assert status.max_error_us == 2_500
    assert status.est_error_us == 800
    assert "TIME_OK, status STA_PLL STA_NANO" in status.detail


def test_a_kernel_offset_without_sta_nano_is_in_microseconds() -> None:
    status = clock.from_timex(0, 0x0001, -50, 900, 100)
    assert status.offset_us == 50  # the kernel takes 50 µs away: the clock is ahead


@pytest.mark.parametrize(
    ("result", "flags", "state"),
    [
        (5, 0x0001 | 0x0100 | 0x0800, ClockState.UNSYNCHRONISED),  # TIME_ERROR: PPS error
        (0, 0x0041, ClockState.UNSYNCHRONISED),  # STA_UNSYNC alone
        (1, 0x0011, ClockState.SYNCHRONISED),  # TIME_INS: a leap second is announced
        (4, 0x0001, ClockState.SYNCHRONISED),  # TIME_WAIT: just after one
    ],
)
def test_the_kernel_state_follows_time_error_and_sta_unsync(
    result: int, flags: int, state: ClockState
) -> None:
    assert clock.from_timex(result, flags, 0, 100, 10).state is state


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="adjtimex(2) is Linux only")
def test_the_kernel_of_this_machine_answers_adjtimex() -> None:
    status, why = clock.kernel_timex()
    assert why == ""
    assert status is not None
    assert status.source == "kernel adjtimex"
    assert status.state in (ClockState.SYNCHRONISED, ClockState.UNSYNCHRONISED)
    assert status.max_error_us is not None and status.max_error_us >= 0
    if sys.maxsize > 2**32:
        assert ctypes.sizeof(clock._Timex) == 208  # glibc's struct timex on 64-bit Linux


# -- which source ----------------------------------------------------------------------------

KERNEL_SYNCED = clock.from_timex(0, 0x2001, 1_000, 400, 50)


def test_chrony_is_read_first_when_it_answers() -> None:
    status = clock.read_clock(
        1.0, chrony=lambda _t: (CHRONY_SYNCED, ""), kernel=lambda: (KERNEL_SYNCED, "")
    )
    assert status.source == "chrony"


def test_without_chrony_the_kernel_is_read_and_the_detail_says_why() -> None:
    status = clock.read_clock(
        1.0,
        chrony=lambda _t: (None, "chronyc is not installed"),
        kernel=lambda: (KERNEL_SYNCED, ""),
    )
    assert status.source == "kernel adjtimex"
    assert status.state is ClockState.SYNCHRONISED
    assert status.detail.endswith("(chronyc is not installed)")


def test_a_chronyc_answer_that_cannot_be_read_falls_back_to_the_kernel() -> None:
    status = clock.read_clock(
        1.0, chrony=lambda _t: ("garbage\n", ""), kernel=lambda: (KERNEL_SYNCED, "")
    )
    assert status.source == "kernel adjtimex"
    assert "(chronyc tracking: expected 14 fields: 'garbage')" in status.detail


def test_nothing_readable_is_unknown_said_plainly() -> None:
    status = clock.read_clock(
        1.0,
        chrony=lambda _t: (None, "chronyc did not answer within 1 s"),
        kernel=lambda: (None, "adjtimex(2) is Linux only (this is darwin)"),
    )
    assert status.source == "unknown"
    assert status.state is ClockState.UNKNOWN
    assert status.offset_us is status.max_error_us is status.est_error_us is None
    assert status.detail == (
        "unknown: chronyc did not answer within 1 s; adjtimex(2) is Linux only (this is "
        "darwin). Nothing shows this clock's divergence from UTC"
    )


def test_chronyc_is_run_with_a_timeout_and_its_failure_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "chronyc"
    fake.write_text("#!/bin/sh\necho '506 Cannot talk to daemon' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert clock.chrony_tracking(1.0) == (None, "chronyc failed (506 Cannot talk to daemon)")
    fake.write_text("#!/bin/sh\nexec sleep 5\n")
    assert clock.chrony_tracking(0.2) == (None, "chronyc did not answer within 0.2 s")
    fake.write_text(f"#!/bin/sh\n[ \"$*\" = '-c -n tracking' ] && printf '{CHRONY_SYNCED}'\n")
    assert clock.chrony_tracking(1.0) == (CHRONY_SYNCED, "")
    monkeypatch.setenv("PATH", str(tmp_path / "none"))
    assert clock.chrony_tracking(1.0) == (None, "chronyc is not installed")


# -- the limit --------------------------------------------------------------------------------


def test_a_synchronised_reading_within_the_limit_has_no_problem() -> None:
    assert clock.divergence_problems(clock.parse_chrony_tracking(CHRONY_SYNCED), 1000) == []


def test_a_bound_beyond_the_limit_is_a_problem_though_the_offset_is_small() -> None:
    status = clock.parse_chrony_tracking(CHRONY_SYNCED)  # bound 975.3065 µs
    assert clock.divergence_problems(status, 100) == ["max error 975.3065 µs exceeds 100 µs"]


def test_an_offset_beyond_the_limit_is_a_problem() -> None:
    status = ClockStatus(
        "chrony", ClockState.SYNCHRONISED, "", offset_us=D("-1500.5"), max_error_us=None
    )
    assert clock.divergence_problems(status, 1000) == ["offset -1,500.5 µs exceeds 1,000 µs"]


def test_unsynchronised_and_unknown_readings_never_show_the_clock_within() -> None:
    unsynced = clock.from_timex(5, 0x40, 0, 16_000_000, 16_000_000)
    assert clock.divergence_problems(unsynced, 1000) == [
        "kernel adjtimex reports the clock unsynchronised",
        "max error 16,000,000 µs exceeds 1,000 µs",
    ]
    # chrony unsynchronised with a bound that would pass a loose limit: still a problem.
    assert clock.divergence_problems(clock.parse_chrony_tracking(CHRONY_UNSYNCED), 2_000_000) == [
        "chrony reports the clock unsynchronised"
    ]
    unknown = ClockStatus("unknown", ClockState.UNKNOWN, "unknown: ...")
    assert clock.divergence_problems(unknown, 1000) == [
        "the clock's synchronisation could not be read: its divergence is unknown"
    ]


# -- the journal row and the gauges ------------------------------------------------------------


def test_the_journal_row_holds_the_reading_the_limit_and_the_verdict() -> None:
    payload = clock.journal_payload(clock.parse_chrony_tracking(CHRONY_SYNCED), 1000, False)
    row = json.loads(payload)
    assert list(row) == [
        "source", "state", "offset_us", "max_error_us", "est_error_us", "reference",
        "stratum", "max_divergence_us", "hft", "within", "problems", "detail",
    ]  # fmt: skip
    assert row["source"] == "chrony"
    assert row["state"] == "synchronised"
    assert row["offset_us"] == "-12.345"  # exact, as chronyc printed it
    assert row["max_error_us"] == "975.3065"
    assert row["est_error_us"] == "23.456"
    assert row["reference"] == "192.0.2.1 (C0000201)"
    assert row["stratum"] == 3
    assert (row["max_divergence_us"], row["hft"], row["within"], row["problems"]) == (
        1000,
        False,
        True,
        [],
    )
    hft = json.loads(clock.journal_payload(clock.parse_chrony_tracking(CHRONY_SYNCED), 100, True))
    assert (hft["within"], hft["problems"]) == (False, ["max error 975.3065 µs exceeds 100 µs"])


def test_an_unknown_reading_is_journaled_with_nulls_and_not_within() -> None:
    unknown = ClockStatus("unknown", ClockState.UNKNOWN, "unknown: nothing answered")
    row = json.loads(clock.journal_payload(unknown, 1000, False))
    assert row["offset_us"] is row["max_error_us"] is row["reference"] is None
    assert row["within"] is False
    assert row["detail"] == "unknown: nothing answered"


def _sample(name: str, labels: dict[str, str] | None = None) -> float | None:
    return REGISTRY.get_sample_value(name, labels or {})


def test_the_gauges_show_the_last_reading_in_seconds() -> None:
    clock.export(clock.parse_chrony_tracking(CHRONY_SYNCED), 100, True, 1_772_443_800.5)
    assert _sample("qtinfra_clock_offset_seconds") == pytest.approx(-12.345e-6)
    assert _sample("qtinfra_clock_max_error_seconds") == pytest.approx(975.3065e-6)
    assert _sample("qtinfra_clock_estimated_error_seconds") == pytest.approx(23.456e-6)
    assert _sample("qtinfra_clock_synchronised") == 1
    assert _sample("qtinfra_clock_max_divergence_seconds") == pytest.approx(1e-4)
    assert _sample("qtinfra_clock_hft") == 1
    assert _sample("qtinfra_clock_read_timestamp_seconds") == 1_772_443_800.5
    labels = {"source": "chrony", "state": "synchronised", "reference": "192.0.2.1 (C0000201)"}
    assert _sample("qtinfra_clock_source_info", labels) == 1

    clock.export(ClockStatus("unknown", ClockState.UNKNOWN, "x"), 1000, False, 1.0)
    offset = _sample("qtinfra_clock_offset_seconds")
    assert offset is not None and math.isnan(offset)
    assert _sample("qtinfra_clock_synchronised") == 0
    assert _sample("qtinfra_clock_source_info", labels) is None  # replaced, not kept
    unknown = {"source": "unknown", "state": "unknown", "reference": ""}
    assert _sample("qtinfra_clock_source_info", unknown) == 1


# -- configuration -----------------------------------------------------------------------------


def test_the_limit_is_rts25s_unless_a_stricter_one_is_configured() -> None:
    assert ClockConfig().limit_us == 1000
    assert ClockConfig(hft=True).limit_us == 100
    assert ClockConfig(max_divergence_us=500).limit_us == 500
    assert ClockConfig(hft=True, max_divergence_us=50).limit_us == 50
    assert ClockConfig().interval_seconds == 60


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_divergence_us": 1001}, "looser than RTS 25's 1000 µs for trading"),
        ({"hft": True, "max_divergence_us": 1000}, "looser than RTS 25's 100 µs for high-freq"),
        ({"max_divergence_us": 0}, "greater than 0"),
        ({"interval_seconds": 0}, "greater than 0"),
    ],
)
def test_a_limit_looser_than_rts25_is_refused(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClockConfig(**settings)  # type: ignore[arg-type]


def test_the_clock_section_of_gateway_toml_is_read(tmp_path: Path) -> None:
    (tmp_path / "gateway.toml").write_text("[clock]\nhft = true\ninterval_seconds = 30\n")
    config = load_config(tmp_path, tmp_path)
    assert (config.clock.hft, config.clock.limit_us, config.clock.interval_seconds) == (
        True,
        100,
        30,
    )
    (tmp_path / "gateway.toml").write_text("[clock]\nmax_divergence_us = 5000\n")
    with pytest.raises(ConfigError, match="looser than RTS 25"):
        load_config(tmp_path, tmp_path)


def test_the_shipped_gateway_toml_uses_the_rts25_default() -> None:
    assert load_config().clock.limit_us == 1000
