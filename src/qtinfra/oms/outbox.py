"""What handling commands produced, waiting for the group commit: events to journal and
release, rows to persist, actions to run once durable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from qtinfra.domain.child_orders import ChildOrder, Execution
from qtinfra.domain.events import Event
from qtinfra.domain.orders import Order


@dataclass(slots=True)
class Outbox:
    """What handling a batch of commands produced: events to journal and release, rows to
    persist."""

    events: list[Event] = field(default_factory=list)
    orders: dict[str, Order] = field(default_factory=dict)
    new_orders: set[str] = field(default_factory=set)
    children: dict[str, ChildOrder] = field(default_factory=dict)
    new_children: set[str] = field(default_factory=set)
    executions: list[Execution] = field(default_factory=list)
    cl_ord_ids: list[tuple[str, str, str]] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    """Run once this outbox is durable (operator actions wait on it)."""

    def __bool__(self) -> bool:
        return bool(
            self.events or self.orders or self.children or self.cl_ord_ids or self.after_commit
        )
