"""The FIX wire layer: splitting as QuickFIX parses (data fields keep their SOH bytes),
the field checks at the session edge, text fit for outbound fields."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qtinfra.config import PROJECT_ROOT
from qtinfra.fix import wire

SOH = "\x01"


def raw(*fields: tuple[int, str]) -> str:
    return "".join(f"{t}={v}{SOH}" for t, v in fields)


def test_data_tags_are_every_data_field_of_the_shipped_dictionaries() -> None:
    tags = set()
    for name in ("FIX44.xml", "FIXT11.xml", "FIX50SP2.xml"):
        root = ET.parse(PROJECT_ROOT / "fix_specs" / name).getroot()
        fields = root.find("fields")
        assert fields is not None
        tags |= {int(f.get("number", 0)) for f in fields if f.get("type") in ("DATA", "XMLDATA")}
    assert tags == wire.DATA_TAGS


def test_split_gives_fields_in_wire_order() -> None:
    assert wire.split(raw((8, "FIX.4.4"), (35, "D"), (11, "A"), (11, "B"))) == [
        (8, "FIX.4.4"),
        (35, "D"),
        (11, "A"),
        (11, "B"),
    ]


def test_soh_inside_a_data_field_stays_inside_it() -> None:
    data = f"x{SOH}38=20{SOH}44=186{SOH}11=SMUG-B"
    pairs = wire.split(raw((11, "SMUG-A"), (38, "10"), (354, str(len(data))), (355, data)))
    assert pairs == [(11, "SMUG-A"), (38, "10"), (354, str(len(data))), (355, data)]
    assert wire.by_tag(pairs)[38] == "10"


def test_data_field_length_counts_bytes_not_characters() -> None:
    data = "\udcff\udcfe" + SOH + "54=5"  # two bytes that are not UTF-8, then a smuggled Side
    pairs = wire.split(raw((54, "1"), (354, "7"), (355, data)))
    assert pairs[-1] == (355, data)
    assert wire.by_tag(pairs)[54] == "1"


def test_signature_takes_its_length_from_signature_length() -> None:
    pairs = wire.split(raw((93, "3"), (89, f"a{SOH}b"), (10, "000")))
    assert pairs == [(93, "3"), (89, f"a{SOH}b"), (10, "000")]


def test_by_tag_keeps_the_first_occurrence() -> None:
    assert wire.by_tag([(54, "1"), (54, "5")]) == {54: "1"}


@pytest.mark.parametrize("bad", ["abc=1\x01", "=1\x01", "11\x01"])
def test_a_frame_that_is_not_tag_value_fields_raises_wire_error(bad: str) -> None:
    with pytest.raises(wire.WireError):
        wire.split(bad)


@given(st.lists(st.tuples(st.integers(1, 99999), st.text(max_size=30)), max_size=30))
def test_split_never_raises_anything_but_wire_error(fields: list[tuple[int, str]]) -> None:
    text = "".join(f"{t}={v}{SOH}" for t, v in fields)
    with contextlib.suppress(wire.WireError):
        wire.split(text)


@given(st.binary(max_size=200))
def test_split_of_arbitrary_bytes_never_raises_anything_but_wire_error(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    with contextlib.suppress(wire.WireError):
        wire.split(text)


def check(text: str) -> wire.BadField | None:
    return wire.check_fields(text, wire.split(text), {11: 64}, 128)


def test_clean_message_passes() -> None:
    assert check(raw((35, "D"), (11, "C1"), (58, "a normal text"))) is None


@pytest.mark.parametrize(
    ("value", "described"),
    [
        ("\udcff", "byte 0xff (not UTF-8)"),
        ("caf\xe9", "character U+00E9"),
        ("a\x00b", "control character 0x00"),
        ("a\x7fb", "control character 0x7f"),
    ],
)
def test_field_that_is_not_printable_ascii_is_named_with_the_offending_character(
    value: str, described: str
) -> None:
    bad = check(raw((35, "D"), (11, "C1"), (58, value)))
    assert bad is not None
    assert (bad.tag, bad.reason) == (58, "6")
    assert described in bad.text


def test_field_longer_than_its_limit_is_refused_with_value_incorrect() -> None:
    bad = check(raw((35, "D"), (11, "C" * 65)))
    assert bad is not None and (bad.tag, bad.reason) == (11, "5")
    assert "65 characters" in bad.text and "at most 64" in bad.text
    assert check(raw((35, "D"), (11, "C" * 64))) is None
    bad = check(raw((35, "D"), (58, "t" * 129)))
    assert bad is not None and bad.tag == 58


def test_data_fields_may_hold_any_byte() -> None:
    data = "\udcff\x00" + SOH
    assert check(raw((35, "D"), (354, "3"), (355, data))) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ok text", "ok text"),
        ("kill\x01150=F\x0139=2", "kill?150=F?39=2"),
        ("x\x0110=000\x01\r\n", "x?10=000???"),
        ("\ud800", "?"),
        ("é", "?"),
    ],
)
def test_printable_replaces_everything_but_printable_ascii(text: str, expected: str) -> None:
    assert wire.printable(text, 100) == expected


def test_printable_bounds_the_length() -> None:
    assert wire.printable("a" * 50, 10) == "aaaaaaa..."


@given(st.text())
def test_printable_output_is_always_printable_ascii(text: str) -> None:
    out = wire.printable(text, 64)
    assert len(out) <= 64 and out.isascii() and out.isprintable()


@given(st.text())
def test_escape_output_is_always_printable_ascii(text: str) -> None:
    out = wire.escape(text)
    assert out.isascii() and out.isprintable()


def test_ord_rej_reason_has_only_fix44_values_on_fix44() -> None:
    assert wire.ord_rej_reason("6", fix44=True) == "6"
    assert wire.ord_rej_reason("18", fix44=True) == "99"  # FIX 5.0 on
    assert wire.ord_rej_reason("16", fix44=True) == "99"
    assert wire.ord_rej_reason("18", fix44=False) == "18"
