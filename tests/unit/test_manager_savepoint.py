"""Commands are all or nothing: a fault injected at each step of a handler leaves the
outbox empty, the orders, children, ClOrdIDs and risk exposure exactly as they were, and
the same command then succeeds as if nothing had happened."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from qtinfra.domain.commands import Command
from qtinfra.domain.values import ExecType, OrdStatus
from qtinfra.oms.manager import OrderManager
from tests.unit.test_manager import cancel, fill, new, placed, replace, venue_report
from tests.unit.test_manager_risk import make

STEPS = (
    "_report",
    "_touch",
    "_touch_child",
    "_send_children",
    "_cancel_children",
    "_settle",
    "_apply_fill",
    "_remember_cl_ord_id",
    "_cancel_reject",
    "_report_pending",
)


class Fault(Exception):
    pass


def inject(m: OrderManager, at: int) -> list[int]:
    """Make the at-th call (1-based) of any step raise; returns the call counter."""
    calls = [0]
    for name in STEPS:
        real = getattr(m, name)

        def wrapped(*args: Any, _real: Callable[..., Any] = real, **kwargs: Any) -> Any:
            calls[0] += 1
            if calls[0] == at:
                raise Fault(f"injected at call {at}")
            return _real(*args, **kwargs)

        setattr(m, name, wrapped)
    return calls


def heal(m: OrderManager) -> None:
    for name in STEPS:
        m.__dict__.pop(name, None)


def state(m: OrderManager) -> Any:
    def fields(obj: Any) -> tuple[Any, ...]:
        return tuple(
            (f.name, sorted(v) if isinstance(v := getattr(obj, f.name), set) else v)
            for f in dataclasses.fields(obj)
        )

    assert m.risk is not None
    e = m.risk.exposure
    return (
        {k: fields(o) for k, o in m.orders.items()},
        {k: fields(o) for k, o in m.done_orders.items()},
        {k: fields(c) for k, c in m.children.items()},
        {k: [c.child_id for c in v] for k, v in m.children_of.items()},
        dict(m.by_cl_ord_id),
        {k: sorted(v) for k, v in m.excluded.items()},
        sorted(m.expiring),
        dict(m.killing),
        # Usage by key; a key whose usage went back to zero is no usage.
        {k: v for k, v in e.positions.items() if v},
        {k: v for k, v in e.open_notional.items() if v},
        {k: v for k, v in e.executed.items() if v},
        {k: v for k, v in e.open_buy.items() if v},
        {k: v for k, v in e.open_sell.items() if v},
        e.firm_open_notional,
        e.firm_executed,
        {k: dataclasses.astuple(v) for k, v in e._orders.items()},
    )


def setups() -> dict[str, Callable[[], tuple[OrderManager, Callable[[OrderManager], Command]]]]:
    def booking() -> tuple[OrderManager, Callable[[OrderManager], Command]]:
        return make(), lambda m: new("N1", price="191")

    def cancelling() -> tuple[OrderManager, Callable[[OrderManager], Command]]:
        m = make()
        placed(m)
        return m, lambda m: cancel()

    def replacing() -> tuple[OrderManager, Callable[[OrderManager], Command]]:
        m = make()
        placed(m)
        return m, lambda m: replace("150", "190.05")

    def filling() -> tuple[OrderManager, Callable[[OrderManager], Command]]:
        m = make()
        _, [child, *_] = placed(m)
        fill(m, child.child_id, "10", "190.00")
        return m, lambda m: venue_report(
            m, child.child_id, ExecType.TRADE, OrdStatus.FILLED,
            last_qty=str(child.quantity - child.cum_qty), last_px="190.01",
        )  # fmt: skip

    def confirming_cancel() -> tuple[OrderManager, Callable[[OrderManager], Command]]:
        m = make()
        _, children = placed(m)
        m.handle(cancel())
        m.take_outbox()
        child = children[0]
        return m, lambda m: venue_report(
            m, f"{child.child_id}.X", ExecType.CANCELED, OrdStatus.CANCELED,
            orig_child_id=child.child_id,
        )  # fmt: skip

    return {
        "new order": booking,
        "cancel": cancelling,
        "replace": replacing,
        "fill": filling,
        "venue confirms a cancel": confirming_cancel,
    }


@pytest.mark.parametrize("scenario", list(setups()))
def test_a_fault_at_any_step_leaves_no_trace_and_the_command_then_succeeds(scenario: str) -> None:
    # How many steps the command takes when nothing fails.
    m, command = setups()[scenario]()
    calls = inject(m, at=0)
    m.handle(command(m))
    steps = calls[0]
    assert steps > 0
    expected = m.take_outbox()

    for at in range(1, steps + 1):
        m, command = setups()[scenario]()
        before = state(m)
        inject(m, at)
        cmd = command(m)
        with pytest.raises(Fault):
            m.handle(cmd)
        assert not m.outbox, f"{scenario}: a fault at step {at} left {m.outbox}"
        assert state(m) == before, f"{scenario}: a fault at step {at} changed the state"
        heal(m)
        m.handle(cmd)  # the same command, once the fault is gone, as if nothing happened
        out = m.take_outbox()
        assert [type(e).__name__ for e in out.events] == [
            type(e).__name__ for e in expected.events
        ], f"{scenario}: after a fault at step {at}"
