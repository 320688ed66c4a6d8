"""The FIX message each event becomes on the session it is sent on: a client's
(fix/codec.py) or a venue's (fix/venue_codec.py)."""

from __future__ import annotations

import quickfix as fix

from qtinfra.domain.events import (
    ChildCancelSent,
    ChildOrderSent,
    ChildStatusSent,
    Event,
    TradeQuerySent,
)
from qtinfra.fix.codec import encode_client_event
from qtinfra.fix.venue_codec import encode_venue_event


def encode_event(event: Event, session: str, micros: bool = True) -> fix.Message | None:
    """The FIX message an event becomes on `session` (None: the event is not sent).
    micros: the session takes timestamps with microseconds (else milliseconds)."""
    if isinstance(event, ChildOrderSent | ChildCancelSent | ChildStatusSent | TradeQuerySent):
        return encode_venue_event(event, micros)
    return encode_client_event(event, session, micros)
