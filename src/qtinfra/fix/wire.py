"""The FIX wire format, in one place: splitting a serialised message into its fields the
way QuickFIX parsed it (length-prefixed data fields included), the byte-level rules every
inbound field must pass, the session-level reject reasons (373), and how decimals and
UTCTimestamps are written and read (the gateway's codec, the venue simulator's acceptor,
the buy-side client and the load tools all use these).

FIX fields are bytes. The Python binding hands them over as str decoded from UTF-8 with
"surrogateescape", so a byte that is not UTF-8 arrives as a lone surrogate (\\udcXX) and
can be turned back into the byte it was. Nothing here raises on any content except
`WireError`, for a frame that is not a sequence of tag=value fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

SOH = "\x01"

# Every field of type DATA or XMLDATA in fix_specs/ (FIX44, FIXT11, FIX50SP2): their value
# may hold any byte, SOH included; the field before them (tag - 1, SignatureLength 93 for
# Signature 89) gives their length in bytes, as QuickFIX's Message::extractField assumes.
# tests/unit/test_wire.py checks this set against the dictionaries.
DATA_TAGS = frozenset(
    {
        89, 91, 96, 213, 349, 351, 353, 355, 357, 359, 361, 363, 365, 446, 619, 622, 1185,
        1278, 1281, 1283, 1398, 1402, 1404, 1469, 1527, 1579, 1621, 1665, 1697, 1734, 1872,
        1875, 2073, 2075, 2112, 2180, 2288, 2352, 2371, 2482, 2493, 2521, 2638, 2652, 2666,
        2716, 2719, 2722, 2798, 2801, 2808, 2814, 40005, 40009, 40979, 40981, 40983, 40985,
        40987, 40989, 41084, 41102, 41108, 41257, 41321, 41325, 41459, 41477, 41483, 41654,
        41711, 41807, 41812, 41874, 41970, 42026, 42172, 42452, 42486, 42653, 42684, 42948,
        42982,
    }
)  # fmt: skip
_SIGNATURE, _SIGNATURE_LENGTH = 89, 93
_HAS_DATA_FIELD = re.compile("(?:^|\x01)(?:" + "|".join(str(t) for t in sorted(DATA_TAGS)) + ")=")
# What a FIX text field may hold on this gateway: printable ASCII (FIX 4.4 Vol 1: String
# and its subtypes are ASCII unless MessageEncoding (347) says otherwise; we accept none).
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]")
_NOT_PRINTABLE_OR_SOH = re.compile(r"[^\x20-\x7e\x01]")


class WireError(ValueError):
    """A frame that cannot be split into tag=value fields."""


# SessionRejectReason (373), FIX 4.4 Vol 2 / FIX 5.0SP2.
class RejectReason:
    INVALID_TAG_NUMBER = "0"
    REQUIRED_TAG_MISSING = "1"
    TAG_NOT_DEFINED_FOR_MESSAGE = "2"
    UNDEFINED_TAG = "3"
    TAG_WITHOUT_VALUE = "4"
    VALUE_INCORRECT = "5"
    INCORRECT_DATA_FORMAT = "6"
    COMPID_PROBLEM = "9"
    SENDING_TIME_ACCURACY = "10"
    INVALID_MSG_TYPE = "11"
    TAG_APPEARS_MORE_THAN_ONCE = "13"
    TAG_OUT_OF_ORDER = "14"
    OTHER = "99"


Field = tuple[int, str]


def split(raw: str) -> list[Field]:
    """The fields of a serialised message in wire order, as (tag, value).

    A data field's value is taken by the length its length field gives, so SOH bytes inside
    it stay inside it (they would otherwise become fields of their own: FIX smuggling)."""
    if _HAS_DATA_FIELD.search(raw) is None:
        out: list[Field] = []
        append = out.append
        for part in raw.split(SOH):
            if not part:
                continue
            tag, sep, value = part.partition("=")
            if not sep or not tag.isdigit():
                raise WireError(f"not a tag=value field: {escape(part[:40])!r}")
            append((int(tag), value))
        return out
    return _split_bytes(raw.encode("utf-8", "surrogateescape"))


def _split_bytes(data: bytes) -> list[Field]:
    out: list[Field] = []
    last: dict[int, str] = {}
    pos, end = 0, len(data)
    while pos < end:
        if data[pos] == 1:  # stray SOH
            pos += 1
            continue
        equals = data.find(b"=", pos)
        if equals < 0:
            raise WireError("equal sign not found in field")
        tag_text = data[pos:equals]
        if not tag_text.isdigit():
            raise WireError(f"field tag is invalid: {tag_text[:20]!r}")
        tag = int(tag_text)
        start = equals + 1
        length_text = None
        if tag in DATA_TAGS:
            length_text = last.get(_SIGNATURE_LENGTH if tag == _SIGNATURE else tag - 1)
        if length_text is not None and length_text.isdigit():
            stop = start + int(length_text)
            if stop > end:
                raise WireError(f"data field {tag} runs past the end of the message")
        else:
            stop = data.find(b"\x01", start)
            if stop < 0:
                stop = end
        value = data[start:stop].decode("utf-8", "surrogateescape")
        out.append((tag, value))
        last[tag] = value
        pos = stop + 1
    return out


def by_tag(pairs: list[Field]) -> dict[int, str]:
    """Fields by tag, the first occurrence of each (a body field comes before any repeating
    group that might repeat its tag)."""
    out: dict[int, str] = {}
    for tag, value in pairs:
        if tag not in out:
            out[tag] = value
    return out


@dataclass(frozen=True, slots=True)
class BadField:
    """The first field of an inbound message that breaks a rule, and why."""

    tag: int
    reason: str  # SessionRejectReason (373)
    text: str


def check_fields(
    raw: str, pairs: list[Field], limits: dict[int, int], default_limit: int
) -> BadField | None:
    """The first field of a message (outside data fields) that is not printable ASCII or
    is longer than its limit (by tag, else default_limit), or None. `raw` is the message
    `pairs` was split from: one scan of it clears every field's characters at once."""
    clean = raw.isascii() and _NOT_PRINTABLE_OR_SOH.search(raw) is None
    short = min(default_limit, *limits.values()) if limits else default_limit
    for tag, value in pairs:
        if tag in DATA_TAGS:
            continue
        if not clean:
            bad = _NOT_PRINTABLE.search(value)
            if bad is not None:
                return BadField(
                    tag,
                    RejectReason.INCORRECT_DATA_FORMAT,
                    f"tag {tag} holds {describe_char(bad.group())}: FIX text fields are "
                    "printable ASCII (MessageEncoding 347 is not supported)",
                )
        if len(value) > short and len(value) > (limit := limits.get(tag, default_limit)):
            return BadField(
                tag,
                RejectReason.VALUE_INCORRECT,
                f"tag {tag} is {len(value)} characters long; at most {limit} are accepted",
            )
    return None


def describe_char(ch: str) -> str:
    """A character as a person reads it in a reject Text: 'byte 0xff', 'control character
    0x01', 'character U+00E9'."""
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return f"byte 0x{code - 0xDC00:02x} (not UTF-8)"
    if code < 0x20 or code == 0x7F:
        return f"control character 0x{code:02x}"
    return f"character U+{code:04X}"


def printable(text: str, limit: int) -> str:
    """Text fit for an outbound field: control characters, SOH and anything outside
    printable ASCII replaced by '?', cut to `limit` characters."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    if text.isascii() and _NOT_PRINTABLE.search(text) is None:
        return text
    return _NOT_PRINTABLE.sub("?", text)


def escape(text: str) -> str:
    """Any text (from the wire: bytes decoded with surrogateescape) as printable ASCII for
    logs and error messages: SOH as '|', other bytes and characters escaped."""
    out = text.replace(SOH, "|")
    if out.isascii() and _NOT_PRINTABLE.search(out) is None:
        return out
    return "".join(
        c
        if 0x20 <= ord(c) < 0x7F
        else f"\\x{ord(c) - 0xDC00:02x}"
        if 0xDC80 <= ord(c) <= 0xDCFF
        else f"\\x{ord(c):02x}"
        if ord(c) < 0x100
        else f"\\u{ord(c):04x}"
        for c in out
    )


def fmt_decimal(value: Decimal) -> str:
    """A Decimal as a FIX float: plain notation, no exponent, no trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


# (whole second, its formatted prefix): replaced as one object, so threads never see a
# second paired with another second's text.
_second: tuple[datetime | None, str] = (None, "")


def fmt_time(value: datetime, micros: bool = True) -> str:
    """UTCTimestamp with microseconds (MiFID II RTS 25), or with milliseconds, all FIX 4.4's
    UTCTimestamp allows (micros False: a FIX 4.4 session not configured for more)."""
    global _second
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    second = value.replace(microsecond=0)
    cached = _second
    if cached[0] != second:
        cached = _second = (second, second.strftime("%Y%m%d-%H:%M:%S."))
    if micros:
        return f"{cached[1]}{value.microsecond:06d}"
    return f"{cached[1]}{value.microsecond // 1000:03d}"


def parse_time(text: str) -> datetime:
    fmt = "%Y%m%d-%H:%M:%S.%f" if "." in text else "%Y%m%d-%H:%M:%S"
    if "." in text:
        head, _, frac = text.partition(".")
        text = f"{head}.{frac[:6]}"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


FIX44_ORD_REJ_REASONS = frozenset({*(str(i) for i in range(12)), "13", "14", "15", "99"})
"""OrdRejReason (103) values of the FIX 4.4 dictionary."""


def ord_rej_reason(value: str, fix44: bool) -> str:
    """OrdRejReason as a session of that version may receive it: a value FIX 4.4 does not
    have (16, 18: FIX 5.0 on) goes out as 99 Other on FIX 4.4, the Text saying which check
    failed, or the counterparty's validation would reject the report."""
    return value if not fix44 or value in FIX44_ORD_REJ_REASONS else "99"
