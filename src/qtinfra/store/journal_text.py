"""Text rows of the journal (FIX messages as received and sent, session events, refusals)
stored so that no content can fail a commit and none is lost.

A FIX message is bytes; QuickFIX's Python binding hands it over as str decoded from UTF-8
with "surrogateescape", so a byte that is not UTF-8 is a lone surrogate, which neither
SQLite nor PostgreSQL can store (and PostgreSQL stores no NUL in text at all). `escape`
writes those as `\\xNN` (lone surrogates from elsewhere, say an HTTP body, as `\\uDXXX`),
and a backslash as `\\\\`, so the escape is lossless: `unescape` gives back exactly the
bytes received. Clean ASCII without a backslash, nearly every message, is stored as it is.
"""

from __future__ import annotations

import re

_NEEDS_ESCAPE = re.compile(r"[\\\x00]")
_ESCAPED = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4})")


def escape(text: str) -> str:
    """Text safe in any database text column; reversible with `unescape`."""
    if text.isascii():
        if _NEEDS_ESCAPE.search(text) is None:
            return text
        return text.replace("\\", "\\\\").replace("\x00", "\\x00")
    return "".join(_escape_char(c) for c in text)


def _escape_char(c: str) -> str:
    code = ord(c)
    if c == "\\":
        return "\\\\"
    if code == 0:
        return "\\x00"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    if 0xD800 <= code <= 0xDFFF:  # any other lone surrogate
        return f"\\u{code:04x}"
    return c


def unescape(text: str) -> str:
    """The text as it was before `escape` (bytes that were not UTF-8 as surrogateescape)."""
    if "\\" not in text:
        return text
    return _ESCAPED.sub(_unescape_match, text)


def _unescape_match(match: re.Match[str]) -> str:
    token = match.group(1)
    if token == "\\":
        return "\\"
    if token[0] == "x":
        code = int(token[1:], 16)
        return chr(code) if code < 0x80 else chr(0xDC00 + code)
    return chr(int(token[1:], 16))


def wire_bytes(text: str) -> bytes:
    """A journaled FIX message as the bytes that were on the wire."""
    return unescape(text).encode("utf-8", "surrogateescape")
