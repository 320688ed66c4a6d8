"""Bytes a FIX client may send that are not what FIX text allows (not UTF-8, Latin-1, NUL,
control characters, SOH smuggled inside data fields, numbers too large, identifiers too
long, repeated credentials) and text an operator may post: each gets its answer, is
journaled as it was received (escaped, never lost), changes nothing else, and the gateway
keeps running. Sent from a hand-written client on a raw socket, on both FIX versions, on
SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qtinfra.store.journal_text import wire_bytes
from qtinfra.tools.deployment import wait_until
from tests.integration.deployment import Deployment
from tests.integration.rawfix import RawFixClient, timestamp

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

FIXT_LOGON = [(1137, "9")]


def order(cl_ord_id: str, *extra: tuple[int, str | bytes], qty: str = "10") -> list:
    return [
        (11, cl_ord_id),
        (55, "AAPL"),
        (54, "1"),
        (38, qty),
        (40, "2"),
        (44, "185"),
        (59, "0"),
        (60, timestamp()),
        *extra,
    ]


@pytest.fixture
def raw(deployment: Deployment) -> Iterator[RawFixClient]:
    client = RawFixClient(deployment.client_port)
    yield client
    client.close()
    time.sleep(0.3)


@pytest.fixture
def raw2(deployment: Deployment) -> Iterator[RawFixClient]:
    """CLIENT2 on FIXT.1.1 / FIX.5.0SP2."""
    client = RawFixClient(deployment.client_port, sender="CLIENT2", begin_string="FIXT.1.1")
    yield client
    client.close()
    time.sleep(0.3)


def alive(deployment: Deployment) -> bool:
    assert deployment.gateway is not None and deployment.gateway.poll() is None, (
        deployment.gateway_log()
    )
    return deployment.health() is not None


def journaled_in(deployment: Deployment, needle: bytes) -> list[bytes]:
    """The inbound messages and session events in the journal holding needle (as bytes)."""
    rows = deployment.journal("fix.in") + deployment.journal("fix.event")
    found = [wire_bytes(r.payload) for r in rows]
    return [b for b in found if needle in b]


def wait_journaled(deployment: Deployment, needle: bytes) -> list[bytes]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if found := journaled_in(deployment, needle):
            return found
        time.sleep(0.1)
    return []


# -- before authentication -----------------------------------------------------------------


def test_logon_from_an_unknown_comp_id_with_a_non_ascii_byte_is_dropped_and_journaled(
    deployment: Deployment,
) -> None:
    client = RawFixClient(deployment.client_port, sender=b"EVIL\xff")
    try:
        client.send("A", [(98, "0"), (108, "30")])
        assert client.closed()
    finally:
        client.close()
    assert wait_journaled(deployment, b"49=EVIL\xff\x01"), "raw bytes not journaled"
    assert alive(deployment)


def test_logon_with_a_username_that_is_not_ascii_gets_a_logout_naming_the_tag(
    raw: RawFixClient, deployment: Deployment
) -> None:
    raw.send("A", [(98, "0"), (108, "30"), (553, b"\xff"), (554, "client1-demo-pass")])
    logout = raw.expect("5")
    assert "tag 553" in logout[58] and "0xff" in logout[58]
    assert raw.closed()
    assert alive(deployment)
    refused = [r.payload for r in deployment.journal("logon.refused")]
    assert any("tag 553" in p for p in refused)


@pytest.mark.parametrize(
    ("begin_string", "sender", "extra", "why"),
    [
        ("FIX.4.4", "CLIENT1", [(98, "1")], "EncryptMethod (98) must be 0 (none)"),
        (
            "FIXT.1.1",
            "CLIENT2",
            [(98, "0"), (1137, "1")],
            "DefaultApplVerID (1137) must be 9 (FIX.5.0SP2)",
        ),
    ],
    ids=["encrypt-method", "appl-ver-id"],
)
def test_a_logon_asking_for_what_the_gateway_does_not_speak_is_refused_saying_so(
    deployment: Deployment, begin_string: str, sender: str, extra: list, why: str
) -> None:
    client = RawFixClient(deployment.client_port, sender=sender, begin_string=begin_string)
    try:
        user = sender.lower()
        client.send("A", [*extra, (108, "30"), (553, user), (554, f"{user}-demo-pass")])
        logout = client.expect("5")
        assert why in logout[58], logout
        assert client.closed()
    finally:
        client.close()
    assert any(why in r.payload for r in deployment.journal("logon.refused"))


def test_a_second_password_in_a_logon_is_refused_and_never_journaled_in_clear(
    raw: RawFixClient, deployment: Deployment
) -> None:
    raw.send(
        "A",
        [(98, "0"), (108, "30"), (553, "client1"), (554, "wrong"), (554, "client1-demo-pass")],
    )
    logout = raw.expect("5")
    assert "Logon refused: Tag appears more than once (tag 554)" in logout[58]
    assert raw.closed()
    assert wait_journaled(deployment, b"554=*****\x01554=*****\x01")
    rows = deployment.journal("fix.in") + deployment.journal("fix.event")
    assert not [r.payload for r in rows if "client1-demo-pass" in r.payload]
    assert not [r.payload for r in rows if "554=wrong" in r.payload]
    refused = [r.payload for r in deployment.journal("logon.refused")]
    assert "Logon refused: Tag appears more than once (tag 554)" in refused


# -- logged on -----------------------------------------------------------------------------


def test_order_with_a_text_byte_that_is_not_utf8_gets_a_session_reject_naming_tag_58(
    raw: RawFixClient, deployment: Deployment
) -> None:
    raw.logon()
    seq = raw.seq
    raw.send("D", order("BYTES-1", (58, b"\xff")))
    reject = raw.expect("3")
    assert (reject[45], reject[371], reject[372], reject[373]) == (str(seq), "58", "D", "6")
    assert "0xff" in reject[58]
    # The session carries on; nothing was booked.
    raw.send("1", [(112, "STILL-UP")])
    assert raw.expect("0")[112] == "STILL-UP"
    assert wait_journaled(deployment, b"11=BYTES-1\x01")
    assert b"58=\xff\x01" in wait_journaled(deployment, b"11=BYTES-1\x01")[0]
    assert not [r for r in deployment.journal("ExecutionReport") if "BYTES-1" in r.payload]
    assert alive(deployment)


@pytest.mark.parametrize(
    ("value", "what"),
    [
        (b"caf\xe9", "0xe9"),  # Latin-1
        (b"caf\xc3\xa9", "U+00E9"),  # valid UTF-8, still not ASCII
        (b"a\x00b", "0x00"),  # NUL (PostgreSQL stores none in text)
        (b"a\x07b", "0x07"),  # a control character
    ],
)
def test_test_request_with_a_test_req_id_that_is_not_ascii_gets_a_session_reject(
    raw: RawFixClient, deployment: Deployment, value: bytes, what: str
) -> None:
    raw.logon()
    raw.send("1", [(112, value)])
    reject = raw.expect("3")
    assert (reject[371], reject[373]) == ("112", "6")
    raw.send("1", [(112, "AFTER")])
    assert raw.expect("0")[112] == "AFTER"
    assert wait_journaled(deployment, b"112=" + value + b"\x01")
    assert alive(deployment)


def test_garbled_frame_with_a_byte_that_is_not_utf8_is_ignored_and_journaled(
    raw: RawFixClient, deployment: Deployment
) -> None:
    raw.logon()
    raw.sock.sendall(raw.frame("1", [(112, b"GARBLED\xff")], checksum_delta=3))
    raw.send("1", [(112, "GOOD")], seq=raw.seq)
    raw.seq += 1
    assert raw.expect("0")[112] == "GOOD"
    assert wait_journaled(deployment, b"112=GARBLED\xff\x01")
    assert alive(deployment)


# -- every byte received is journaled, frames QuickFIX could not parse included -------------


def discarded(deployment: Deployment, needle: bytes) -> list[bytes]:
    """The journaled "Discarded N bytes" events holding needle."""
    found = wait_journaled(deployment, needle)
    return [b for b in found if b.startswith(b"Discarded ")]


def test_bytes_between_messages_that_are_no_message_are_journaled_before_the_next(
    raw: RawFixClient, deployment: Deployment
) -> None:
    raw.logon()
    raw.sock.sendall(b"NOT-FIX\xff\x01")
    time.sleep(0.2)  # read on their own, held until the next message
    raw.send("1", [(112, "AFTER-JUNK")])
    assert raw.expect("0")[112] == "AFTER-JUNK"
    assert discarded(
        deployment, b"Discarded 9 bytes that are not part of a FIX message: NOT-FIX\xff\x01"
    )
    # In the journal in the order they came: the junk, then the message behind it.
    rows = sorted(
        deployment.journal("fix.in") + deployment.journal("fix.event"), key=lambda r: r.seq
    )
    order_seen = [
        "junk" if wire_bytes(r.payload).endswith(b": NOT-FIX\xff\x01") else "after"
        for r in rows
        if b"NOT-FIX" in wire_bytes(r.payload) or b"112=AFTER-JUNK" in wire_bytes(r.payload)
    ]
    assert order_seen == ["junk", "after"], order_seen


def test_a_frame_whose_body_length_is_unreadable_is_journaled_and_the_next_one_is_read(
    raw: RawFixClient, deployment: Deployment
) -> None:
    raw.logon()
    good = raw.frame("1", [(112, "BEHIND-BAD")])
    bad = good.replace(b"\x019=", b"\x019=x", 1).replace(b"BEHIND-BAD", b"BAD-LENGTH")
    raw.sock.sendall(bad + good)  # one read: the good frame right behind the bad one
    raw.seq += 1
    assert raw.expect("0")[112] == "BEHIND-BAD"
    assert discarded(deployment, bad)


def test_a_frame_whose_body_length_is_wrong_is_journaled_as_received(
    raw: RawFixClient, deployment: Deployment
) -> None:
    raw.logon()
    frame = raw.frame("1", [(112, "SHORT-LENGTH")])
    head, _, rest = frame.partition(b"\x019=")
    length, _, body = rest.partition(b"\x01")
    bad = head + b"\x019=" + str(int(length) - 5).encode() + b"\x01" + body
    raw.sock.sendall(bad)
    raw.send("1", [(112, "AFTER-SHORT")], seq=raw.seq)
    raw.seq += 1
    assert raw.expect("0")[112] == "AFTER-SHORT"  # the garbled one was ignored
    assert wait_journaled(deployment, bad)


def test_what_a_stranger_sends_before_closing_is_journaled_and_bounded(
    deployment: Deployment,
) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", deployment.client_port), timeout=10) as conn:
        conn.sendall(b"JUNK" * 1000)
        time.sleep(0.3)
    rows = discarded(deployment, b"Discarded 4000 bytes that are not part of a FIX message")
    assert rows, "the stranger's bytes were not journaled"
    assert b"(1024 shown): " + b"JUNK" * 256 in rows[0]
    assert not rows[0].endswith(b"JUNK" * 257)  # a stranger cannot grow the journal
    assert alive(deployment)


def test_fix50sp2_order_with_a_byte_that_is_not_utf8_gets_a_session_reject(
    raw2: RawFixClient, deployment: Deployment
) -> None:
    raw2.logon(username="client2", password="client2-demo-pass", extra=FIXT_LOGON)
    raw2.send("D", order("BYTES-2", (58, b"\xfe\xff")))
    reject = raw2.expect("3")
    assert (reject[371], reject[373]) == ("58", "6")
    raw2.send("1", [(112, "SP2-UP")])
    assert raw2.expect("0")[112] == "SP2-UP"
    assert alive(deployment)


def test_soh_inside_a_data_field_does_not_smuggle_fields_into_the_order(
    raw: RawFixClient, deployment: Deployment
) -> None:
    raw.logon()
    smuggled = b"x\x0138=20\x0144=186\x0111=SMUG-B"
    raw.send("D", order("SMUG-A", (354, str(len(smuggled))), (355, smuggled)))
    report = raw.expect("8")
    assert (report[11], report[38], report[44]) == ("SMUG-A", "10", "185")
    assert not [r for r in deployment.journal("ExecutionReport") if "SMUG-B" in r.payload]


def test_side_smuggled_in_a_data_field_does_not_turn_a_buy_into_a_short_sell(
    raw: RawFixClient,
) -> None:
    raw.logon()
    smuggled = b"x\x0154=5"
    raw.send("D", order("SMUG-C", (354, str(len(smuggled))), (355, smuggled)))
    report = raw.expect("8")
    assert (report[11], report[54]) == ("SMUG-C", "1")


# -- a data field's length is the counterparty's word: checked, never trusted -----------------


@pytest.mark.parametrize(
    "fields",
    [
        [(95, "-1"), (96, "abc")],  # ended the process (std::length_error)
        [(95, "2000000000"), (96, "abc")],  # crashed it (SIGSEGV)
        [(95, "3000"), (96, "abc")],  # read the heap past the message into RawData
        [(93, "-1"), (89, "abc")],  # Signature, a trailer field
    ],
    ids=["negative", "huge", "past-the-end", "signature"],
)
def test_a_logon_whose_data_field_length_does_not_fit_is_closed_as_garbled(
    raw: RawFixClient, deployment: Deployment, fields: list[tuple[int, str]]
) -> None:
    raw.send("A", [(98, "0"), (108, "30"), (553, "client1"), (554, "x"), *fields])
    assert raw.closed()
    data_tag = fields[1][0]
    assert discarded_or_event(
        deployment, f"Invalid message: Data field {data_tag} does not end".encode()
    )
    refused = [r.payload for r in deployment.journal("logon.refused")]
    assert any(f"Logon refused: Data field {data_tag} does not end" in p for p in refused)
    assert alive(deployment)
    again = RawFixClient(deployment.client_port)
    try:
        assert again.logon()[35] == "A"  # the session was not left half logged on
    finally:
        again.close()


@pytest.mark.parametrize(
    ("fields", "data_tag"),
    [
        ([(354, "-1"), (355, "abc")], 355),
        ([(354, "2000000000"), (355, "abc")], 355),
        ([(354, "3000"), (355, "abc")], 355),
        ([(354, "2"), (355, "abc")], 355),  # the data runs into the next field
    ],
    ids=["negative", "huge", "past-the-end", "no-soh-where-it-ends"],
)
def test_an_order_whose_data_field_length_does_not_fit_is_ignored_as_garbled(
    raw: RawFixClient, deployment: Deployment, fields: list[tuple[int, str]], data_tag: int
) -> None:
    raw.logon()
    raw.sock.sendall(raw.frame("D", order("BAD-LENGTH", *fields)))
    # Garbled (FIX session rules): ignored, its sequence number not used up.
    raw.send("1", [(112, "AFTER-BAD-LENGTH")], seq=raw.seq)
    raw.seq += 1
    assert raw.expect("0")[112] == "AFTER-BAD-LENGTH"
    assert discarded_or_event(
        deployment, f"Invalid message: Data field {data_tag} does not end".encode()
    )
    assert wait_journaled(deployment, b"11=BAD-LENGTH\x01")  # the frame itself, as received
    assert not [r for r in deployment.journal("ExecutionReport") if "BAD-LENGTH" in r.payload]
    assert alive(deployment)


def test_xml_data_in_the_header_with_a_negative_length_is_ignored_as_garbled(
    raw: RawFixClient, deployment: Deployment
) -> None:
    raw.logon()
    raw.sock.sendall(raw.frame("1", [(112, "XML")], header=[(212, "-1"), (213, "<x/>")]))
    raw.send("1", [(112, "AFTER-XML")], seq=raw.seq)
    raw.seq += 1
    assert raw.expect("0")[112] == "AFTER-XML"
    assert discarded_or_event(deployment, b"Invalid message: Data field 213 does not end")
    assert alive(deployment)


def discarded_or_event(deployment: Deployment, needle: bytes) -> list[bytes]:
    return [b for b in wait_journaled(deployment, needle) if b.startswith(needle)]


# -- a logged-on session that floods bytes that are no FIX message is logged out --------------


@pytest.mark.parametrize(
    "start",
    [b"", b"8=\x0110=\x01"],  # a BeginString and a CheckSum, then never a frame
    ids=["no-begin-string", "begin-string-then-garbage"],
)
def test_a_logged_on_session_flooding_bytes_that_are_no_message_is_logged_out(
    raw: RawFixClient, deployment: Deployment, start: bytes
) -> None:
    raw.logon()
    before = max((r.seq for r in deployment.journal("fix.event")), default=0)
    with contextlib.suppress(OSError):  # the gateway may close while we still send
        raw.sock.sendall(start)
        for _ in range(20):
            raw.sock.sendall(b"A" * 65536)  # 1.25 MiB, never a message
    why = "more than 1048576 bytes that are not part of a FIX message"
    # The Logout is sent and journaled. A client still flooding may not read it: the gateway
    # closes with the rest of the flood unread, and the peer's TCP stack then resets.
    text = _logout_text(raw)
    assert text is None or why in text, text
    assert wait_until(
        lambda: any(why in r.payload for r in deployment.journal("fix.out") if r.seq > before), 5
    )
    assert wait_until(lambda: not _logged_on(deployment, "CLIENT1"), 5)
    assert alive(deployment)
    events = [wire_bytes(r.payload) for r in deployment.journal("fix.event") if r.seq > before]
    counted = sum(int(e.split(b" ", 2)[1]) for e in events if e.startswith(b"Discarded "))
    assert counted > 1048576, events  # every byte up to the Logout is in the journal
    again = RawFixClient(deployment.client_port)
    try:
        assert again.logon()[35] == "A"  # logged out, not disabled
    finally:
        again.close()


def _logout_text(raw: RawFixClient) -> str | None:
    """The Text of the Logout the gateway sent, None if the connection was reset or closed
    before it could be read."""
    try:
        while (msg := raw.receive(10)) is not None:
            if msg[35] == "5":
                return msg.get(58, "")
    except (ConnectionResetError, BrokenPipeError):
        pass
    return None


def _logged_on(deployment: Deployment, comp_id: str) -> bool:
    return any(
        r["session"].endswith(f">{comp_id}") and r["logged_on"] for r in deployment.sessions()
    )


@pytest.mark.parametrize(
    ("field", "value", "reason", "named"),
    [
        (38, "1000000000000000000000000000000", "13", "OrderQty (38)"),
        (44, "100000000000000000000000000.01", "99", "Price (44)"),
        (38, "10.1234567890123456789", "13", "OrderQty (38)"),
    ],
)
def test_numbers_out_of_range_get_a_rejected_execution_report_naming_the_field(
    raw: RawFixClient, field: int, value: str, reason: str, named: str
) -> None:
    raw.logon()
    fields = [(t, value if t == field else v) for t, v in order(f"BIG-{field}-{len(value)}")]
    raw.send("D", fields)
    report = raw.expect("8")
    assert (report[150], report[39], report[103]) == ("8", "8", reason)
    assert named in report[58] and "out of range" in report[58]


def test_a_clordid_longer_than_64_characters_gets_a_session_reject(
    raw: RawFixClient, deployment: Deployment
) -> None:
    raw.logon()
    raw.send("D", order("L" * 100_000))
    reject = raw.expect("3")
    assert (reject[371], reject[373]) == ("11", "5")
    assert "at most 64" in reject[58]
    raw.send("1", [(112, "LONG-UP")])
    assert raw.expect("0")[112] == "LONG-UP"
    assert alive(deployment)


# -- the operator's endpoint ---------------------------------------------------------------


@pytest.mark.parametrize(
    "reason",
    [
        "\ud800",  # a lone surrogate
        "demo\u0001150=F\u000139=2\u000132=10\u000131=1.00",  # FIX tags in operator text
        "x\u000110=000\u0001\r\n",
        "r" * 300,
    ],
)
def test_kill_switch_reason_that_is_not_printable_ascii_is_refused_and_changes_nothing(
    deployment: Deployment, reason: str
) -> None:
    body = json.dumps(
        {"scope": "client", "target": "ACC1", "state": "HALTED", "reason": reason, "actor": "t"}
    ).encode()
    status, answer = deployment.post("/risk/state", body)
    assert status == 400, answer
    assert "reason" in answer["error"]
    assert alive(deployment)
    states = deployment.get("/risk")
    assert "ACC1" not in json.dumps(states.get("states", {})) or "HALTED" not in json.dumps(
        states.get("states", {})
    )


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"reason": "\\ud800"', b"\xff\xfe"],
)
def test_malformed_operator_bodies_get_400(deployment: Deployment, body: bytes) -> None:
    status, _ = deployment.post("/risk/state", body)
    assert status == 400
    assert alive(deployment)


# -- instructions the gateway does not carry out are refused, never ignored ---------------


@pytest.mark.parametrize(
    ("extra", "named", "reason"),
    [
        ([(15, "EUR")], "Currency (15) EUR is not AAPL's currency USD", "11"),
        ([(18, "G")], "ExecInst (18)", "11"),
        ([(111, "5")], "MaxFloor (111)", "11"),
        ([(110, "20")], "MinQty (110)", "11"),
        ([(126, "20200101-00:00:00")], "ExpireTime (126)", "11"),
        ([(99, "180")], "StopPx (99)", "11"),
        ([(21, "3")], "HandlInst (21) 3", "11"),
        ([(63, "0")], "SettlType (63)", "11"),
        ([(167, "OPT")], "SecurityType (167)", "11"),
        ([(152, "10000")], "CashOrderQty (152)", "11"),
        ([(847, "1")], "TargetStrategy (847)", "11"),
    ],
)
def test_an_instruction_the_gateway_does_not_carry_out_is_refused_naming_it(
    raw: RawFixClient, extra: list[tuple[int, str]], named: str, reason: str
) -> None:
    raw.logon()
    cl = f"INSTR-{extra[0][0]}"
    raw.send("D", order(cl, *extra))
    report = raw.expect("8")
    assert (report[11], report[150], report[39], report[103]) == (cl, "8", "8", reason)
    assert named in report[58], report[58]


def test_on_behalf_of_comp_id_is_refused(raw: RawFixClient) -> None:
    raw.logon()
    raw.send("D", order("OBO-1"), header=[(115, "SOMEONE")])
    report = raw.expect("8")
    assert (report[39], report[103]) == ("8", "11") and "OnBehalfOfCompID (115)" in report[58]


def test_handl_inst_automated_and_the_instruments_currency_are_accepted(
    raw: RawFixClient,
) -> None:
    raw.logon()
    raw.send("D", order("OK-21", (21, "1"), (15, "USD")))
    report = raw.expect("8")
    assert (report[11], report[150]) == ("OK-21", "0")


# -- the operator endpoint cannot be held or confused ---------------------------------------


def test_idle_and_partial_requests_to_the_ops_endpoint_are_closed_and_hold_nothing(
    deployment: Deployment,
) -> None:
    import socket

    idle = [socket.create_connection(("127.0.0.1", deployment.http_port)) for _ in range(50)]
    partial = socket.create_connection(("127.0.0.1", deployment.http_port))
    partial.sendall(
        b"POST /risk/state HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
        b'Content-Type: application/json\r\n\r\n{"scope":'
    )
    try:
        # Meanwhile the endpoint answers everyone else at once.
        assert deployment.health() is not None
        start = time.monotonic()
        for conn in [*idle, partial]:
            conn.settimeout(15)
            while conn.recv(4096):
                pass  # closed by the gateway after its request timeout
        assert time.monotonic() - start < 12
    finally:
        for conn in [*idle, partial]:
            conn.close()
    assert alive(deployment)


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads line")


def test_hundreds_of_idle_and_partial_connections_hold_a_bounded_number_of_threads(
    deployment: Deployment,
) -> None:
    import socket

    assert deployment.gateway is not None
    before = _threads(deployment.gateway.pid)
    partial_post = (
        b"POST /risk/state HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
        b'Content-Type: application/json\r\n\r\n{"scope":'
    )
    conns = []
    try:
        for i in range(600):
            conn = socket.create_connection(("127.0.0.1", deployment.http_port), timeout=15)
            if i % 2:
                conn.sendall(partial_post)
            conns.append(conn)
        time.sleep(0.5)
        # One thread per connection served, at most 64 of them (ops/http.py): the rest are
        # closed at once; none of it touches the FIX sessions.
        assert _threads(deployment.gateway.pid) <= before + 64 + 2
        raw = RawFixClient(deployment.client_port)
        try:
            raw.logon()
            raw.send("1", [(112, "OPS-FLOOD")])
            assert raw.expect("0")[112] == "OPS-FLOOD"
        finally:
            raw.close()
        start = time.monotonic()
        for conn in conns:
            with contextlib.suppress(OSError):
                while conn.recv(4096):
                    pass
        assert time.monotonic() - start < 12  # every held connection closed by its timeout
    finally:
        for conn in conns:
            conn.close()
    assert wait_until(lambda: deployment.health() is not None, 10)
    assert alive(deployment)


@pytest.mark.parametrize("length", ["-1", "99999999999", "abc", "1e3"])
def test_a_content_length_out_of_bounds_gets_400_at_once(
    deployment: Deployment, length: str
) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", deployment.http_port), timeout=10) as conn:
        conn.sendall(
            b"POST /risk/state HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + (deployment.var_dir / "run" / "ops.token").read_bytes().strip()
            + b"\r\nContent-Length: "
            + length.encode()
            + b"\r\n\r\n{}"
        )
        conn.settimeout(3)  # answered at once, not after the request timeout (5 s)
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400"), answer
    assert alive(deployment)


def test_an_authorization_header_that_is_not_ascii_gets_401(deployment: Deployment) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", deployment.http_port, timeout=10)
    try:
        conn.putrequest("POST", "/risk/state")
        conn.putheader("Authorization", "Bearer caf\xe9".encode("latin-1"))
        conn.putheader("Content-Length", "2")
        conn.endheaders(b"{}")
        assert conn.getresponse().status == 401
    finally:
        conn.close()
    assert alive(deployment)
