"""Journaled events back from their payloads (the inverse of journal.event_payload), for
what the gateway must do again after a crash: send the client and venue messages that were
committed but never released (gateway/recovery.py)."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson

from qtinfra.domain import events
from qtinfra.domain.events import Event

RELEASED_KINDS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        events.ExecutionReport,
        events.CancelRejected,
        events.BusinessRejected,
        events.SessionRejected,
        events.ChildOrderSent,
        events.ChildCancelSent,
        events.ChildStatusSent,
        events.TradeQuerySent,
    )
}
"""The journal kinds whose events are sent to a session (a client's or a venue's)."""


def event_from_payload(kind: str, payload: str) -> Event:
    """The event a journal row of `kind` holds. Raises KeyError for a kind that is not an
    event sent to a session, ValueError for a payload that does not fit its type."""
    cls = RELEASED_KINDS[kind]
    value = _build(cls, orjson.loads(payload))
    return typing.cast(Event, value)


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _build(cls: type[Any], data: dict[str, Any]) -> Any:
    hints = _hints(cls)
    kwargs = {
        f.name: _convert(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)
        if f.name in data
    }
    return cls(**kwargs)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(options[0], value)
    if origin is tuple:
        (item, *_) = typing.get_args(hint)
        return tuple(_convert(item, v) for v in value)
    if isinstance(hint, type):
        if issubclass(hint, Enum):
            return hint(value)
        if hint is Decimal:
            return Decimal(value)
        if hint is datetime:
            return datetime.fromisoformat(value)
        if dataclasses.is_dataclass(hint):
            return _build(hint, value)
    return value
