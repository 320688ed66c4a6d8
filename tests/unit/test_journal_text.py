"""Journal text rows: any content is stored, losslessly, in a form no database refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qtinfra.store.journal_text import escape, unescape, wire_bytes


def test_clean_ascii_is_stored_as_it_is() -> None:
    text = "8=FIX.4.4\x019=5\x0135=0\x0110=000\x01"
    assert escape(text) is text


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("58=\udcff\x01", "58=\\xff\x01"),
        ("a\x00b", "a\\x00b"),
        ("back\\slash", "back\\\\slash"),
        ("\ud800", "\\ud800"),
        ("café", "café"),
    ],
)
def test_what_a_database_cannot_hold_is_escaped(text: str, stored: str) -> None:
    assert escape(text) == stored
    assert "\x00" not in escape(text)
    escape(text).encode("utf-8")  # no surrogates left: every database takes it


@given(st.binary())
def test_bytes_from_the_wire_round_trip_exactly(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    stored = escape(text)
    stored.encode("utf-8")
    assert "\x00" not in stored
    assert wire_bytes(stored) == data


@given(st.text())
def test_any_text_round_trips(text: str) -> None:
    stored = escape(text)
    stored.encode("utf-8")
    assert unescape(stored) == text
