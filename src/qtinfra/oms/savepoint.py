"""All-or-nothing commands: what the order manager looked like before a command, so that a
handler that raises part-way leaves no trace (DESIGN.md: "a handler that fails leaves
nothing in the outbox").

Before a command runs, the manager notes where its outbox stood and copies the orders the
command can touch (and their children, and their entries in the manager's side tables).
If the handler raises, everything the command appended to the outbox is dropped, the
orders, children and ClOrdIDs it created are forgotten, the orders it could touch get
their fields back in place (every reference to them stays valid), and the risk exposure is
re-synchronised to them (positions and today's executions as they were).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING, Any

from qtinfra.domain.child_orders import ChildOrder
from qtinfra.domain.orders import ZERO, Order

if TYPE_CHECKING:
    from qtinfra.oms.manager import OrderManager


_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _fields(obj: Any) -> dict[str, Any]:
    """The object's fields, containers copied (a child's set of venue ExecIDs)."""
    values = {name: getattr(obj, name) for name in _names(type(obj))}
    for name, value in values.items():
        if isinstance(value, set | list | dict):
            values[name] = copy.copy(value)
    return values


def _restore(obj: Any, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(obj, name, value)


class Savepoint:
    """The manager's state before one command, for the orders it can touch."""

    def __init__(self, manager: OrderManager, order_ids: list[str]) -> None:
        self.manager = manager
        out = manager.outbox
        self.sizes = (
            len(out.events),
            len(out.executions),
            len(out.cl_ord_ids),
            len(out.after_commit),
        )
        self.outbox_orders = set(out.orders)
        self.outbox_children = set(out.children)
        self.new_orders = set(out.new_orders)
        self.new_children = set(out.new_children)
        self.orders: list[tuple[Order, dict[str, Any], bool]] = []
        self.children: list[tuple[ChildOrder, dict[str, Any]]] = []
        self.tables: dict[str, tuple[Any, ...]] = {}
        self.usage: tuple[Any, ...] | None = None
        for order_id in dict.fromkeys(order_ids):
            order = manager.orders.get(order_id)
            live = order is not None
            order = order or manager.done_orders.get(order_id)
            if order is None:
                continue
            self.orders.append((order, _fields(order), live))
            kids = list(manager.children_of.get(order_id, ()))
            self.children += [(c, _fields(c)) for c in kids]
            self.tables[order_id] = (
                kids if order_id in manager.children_of else None,
                copy.copy(manager.excluded.get(order_id)),
                order_id in manager.expiring,
                manager.killing.get(order_id),
                manager.replace_data.get(order_id),
            )
        if manager.risk is not None and self.orders:
            # Fills move positions and today's executions: kept for the touched orders'
            # accounts and instruments (their open quantities are re-synced from them).
            e = manager.risk.exposure
            self.usage = (
                e.day,
                e.firm_executed,
                dict(e.executed),
                {
                    key: e.positions.get(key)
                    for o, _, _ in self.orders
                    for key in [(o.account or "", o.instrument.symbol)]
                },
            )

    def rollback(self) -> None:
        m = self.manager
        out = m.outbox
        events, executions, cl_ord_ids, after_commit = self.sizes
        del out.events[events:]
        del out.executions[executions:]
        for session, cl_ord_id, order_id in out.cl_ord_ids[cl_ord_ids:]:
            m.by_cl_ord_id.pop((session, cl_ord_id), None)
            if cl_ord_id in (used := m.cl_ord_ids_of.get(order_id, [])):
                used.remove(cl_ord_id)
        del out.cl_ord_ids[cl_ord_ids:]
        del out.after_commit[after_commit:]
        # What the command created is forgotten.
        for order_id in out.new_orders - self.new_orders:
            m.orders.pop(order_id, None)
            m.done_orders.pop(order_id, None)
            m.children_of.pop(order_id, None)
            m.cl_ord_ids_of.pop(order_id, None)
            if m.risk is not None:
                m.risk.exposure.set_order(order_id, "", "", True, ZERO, ZERO)
        for child_id in out.new_children - self.new_children:
            m.children.pop(child_id, None)
        out.new_orders.intersection_update(self.new_orders)
        out.new_children.intersection_update(self.new_children)
        for key in set(out.orders) - self.outbox_orders:
            del out.orders[key]
        for key in set(out.children) - self.outbox_children:
            del out.children[key]
        # What it could touch gets its state back, in place.
        for child, values in self.children:
            _restore(child, values)
            m.children[child.child_id] = child
        for order, values, live in self.orders:
            _restore(order, values)
            order_id = order.order_id
            if live:
                m.orders[order_id] = order
                m.done_orders.pop(order_id, None)
            else:
                m.done_orders[order_id] = order
                m.orders.pop(order_id, None)
            kids, excluded, expiring, killing, replace = self.tables[order_id]
            if kids is not None:
                m.children_of[order_id] = kids
            _put(m.excluded, order_id, excluded)
            _put(m.killing, order_id, killing)
            _put(m.replace_data, order_id, replace)
            if expiring:
                m.expiring.add(order_id)
            else:
                m.expiring.discard(order_id)
        if m.risk is not None:
            e = m.risk.exposure
            if self.usage is not None:
                e.day, e.firm_executed, executed, positions = self.usage
                e.executed.clear()
                e.executed.update(executed)
                for key, position in positions.items():
                    _put(e.positions, key, position)
            for order, _, _ in self.orders:
                m._sync_exposure(order)


def _put(table: dict[Any, Any], key: Any, value: Any) -> None:
    if value is None:
        table.pop(key, None)
    else:
        table[key] = value
