"""The child order's state machine: every change goes through its transition table."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qtinfra.domain.child_orders import TRANSITIONS, ChildOrder, ChildTrigger
from qtinfra.domain.values import OrdStatus, OrdType, Side, TimeInForce
from qtinfra.errors import InvalidTransition

D = Decimal


def child(status: OrdStatus = OrdStatus.PENDING_NEW, cum: str = "0") -> ChildOrder:
    c = ChildOrder(
        "K1", "O1", "CBOE", Side.BUY, OrdType.LIMIT, TimeInForce.DAY, D(100), D(190),
        datetime(2026, 3, 2, tzinfo=UTC), status=status, cum_qty=D(cum),
    )  # fmt: skip
    return c


def test_acknowledged_then_partly_then_fully_filled() -> None:
    c = child()
    assert c.apply(ChildTrigger.ACKNOWLEDGED) and c.status is OrdStatus.NEW
    c.fill(D(40), D(190))
    assert (c.status, c.leaves_qty) == (OrdStatus.PARTIALLY_FILLED, D(60))
    c.fill(D(60), D("190.5"))
    assert (c.status, c.leaves_qty, c.notional) == (OrdStatus.FILLED, D(0), D(19030))


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (OrdStatus.FILLED, OrdStatus.FILLED),
        (OrdStatus.REJECTED, OrdStatus.REJECTED),
        (OrdStatus.EXPIRED, OrdStatus.EXPIRED),
        (OrdStatus.CANCELED, OrdStatus.CANCELED),
        (OrdStatus.REPLACED, OrdStatus.CANCELED),  # any other end: nothing works there
    ],
)
def test_a_venue_end_state_maps_to_the_childs_end(status: OrdStatus, expected: OrdStatus) -> None:
    c = child(OrdStatus.NEW)
    assert c.end_as(status)
    assert c.status is expected


@pytest.mark.parametrize("done", [OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED])
@pytest.mark.parametrize("trigger", list(ChildTrigger))
def test_a_late_report_about_a_done_child_changes_nothing(
    done: OrdStatus, trigger: ChildTrigger
) -> None:
    c = child(done)
    assert not c.apply(trigger)
    assert c.status is done


def test_a_fill_above_what_is_left_is_refused() -> None:
    c = child(OrdStatus.PARTIALLY_FILLED, cum="90")
    with pytest.raises(InvalidTransition):
        c.fill(D(11), D(190))
    assert c.cum_qty == D(90)


def test_no_transition_leaves_a_done_state() -> None:
    assert not [k for k in TRANSITIONS if k[0].is_done]


@given(st.lists(st.sampled_from(list(ChildTrigger)), max_size=12))
def test_any_sequence_of_reports_keeps_the_child_in_a_known_state(
    triggers: list[ChildTrigger],
) -> None:
    c = child()
    for trigger in triggers:
        before = c.status
        changed = c.apply(trigger)
        assert changed == (c.status is not before)
        if before.is_done:
            assert c.status is before
    assert c.status in {s for s, _ in TRANSITIONS} | {e for e in TRANSITIONS.values()}
