"""The session layer at Logon and before it, as the FIX Session Layer Test Cases say (and
the rules of engagement document): a stranger (unknown CompID, wrong BeginString, a session
already connected) is disconnected without a word; an invalid Logon for a configured
session gets a Logout saying why; a connection that does not log on is bounded in what it
may send and for how long, and cannot slow any other session. Checked with a hand-written
FIX client on raw sockets."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.helpers import wait_until
from tests.integration.deployment import Deployment
from tests.integration.rawfix import RawFixClient, timestamp

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

CREDENTIALS = [(553, "client1"), (554, "client1-demo-pass")]
RESET = (141, "Y")  # every test starts at MsgSeqNum 1


def logged_off(deployment: Deployment, comp_id: str = "CLIENT1") -> bool:
    rows = [r for r in deployment.sessions() if r["session"].endswith(f"->{comp_id}")]
    return bool(rows) and not any(r["logged_on"] for r in rows)


@pytest.fixture
def raw(deployment: Deployment) -> Iterator[RawFixClient]:
    assert wait_until(lambda: logged_off(deployment), timeout=10)
    client = RawFixClient(deployment.client_port)
    yield client
    client.close()
    # The next test's Logon must not find the session still connected.
    assert wait_until(lambda: logged_off(deployment), timeout=10)


def silent_close(client: RawFixClient, timeout: float = 8.0) -> bool:
    """The connection was closed and nothing at all came back."""
    try:
        return client.receive(timeout) is None and not client.buffer
    except (TimeoutError, ConnectionResetError):
        return False


def logout_text(client: RawFixClient) -> str:
    logout = client.expect("5")
    assert client.closed()
    return logout.get(58, "")


def test_unknown_sender_comp_id_is_disconnected_without_a_word(deployment: Deployment) -> None:
    client = RawFixClient(deployment.client_port, sender="NOBODY")
    try:
        client.send("A", [(98, "0"), (108, "30"), *CREDENTIALS])
        assert silent_close(client)
    finally:
        client.close()
    assert any("49=NOBODY" in r.payload for r in deployment.journal("fix.event"))


def test_wrong_begin_string_is_disconnected_without_a_word(deployment: Deployment) -> None:
    client = RawFixClient(deployment.client_port, begin_string="FIX.4.2")
    try:
        client.send("A", [(98, "0"), (108, "30"), *CREDENTIALS])
        assert silent_close(client)
    finally:
        client.close()


def test_a_second_connection_for_a_logged_on_session_is_disconnected_without_a_word(
    raw: RawFixClient, deployment: Deployment
) -> None:
    raw.logon()
    second = RawFixClient(deployment.client_port)
    try:
        second.send("A", [(98, "0"), (108, "30"), *CREDENTIALS])
        assert silent_close(second)
    finally:
        second.close()
    raw.send("1", [(112, "FIRST-STILL-UP")])
    assert raw.expect("0")[112] == "FIRST-STILL-UP"


def test_wrong_password_gets_a_logout_saying_so(raw: RawFixClient) -> None:
    raw.send("A", [(98, "0"), (108, "30"), RESET, (553, "client1"), (554, "nope")])
    assert "invalid Username (553) or Password (554)" in logout_text(raw)


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ([(108, "abc")], "Incorrect data format for value (tag 108)"),
        ([(108, "999999999999")], "(tag 108)"),
        ([(108, "30"), (58, "hello")], "Tag not defined for this message type (tag 58)"),
        ([(108, "30"), (554, "again")], "Tag appears more than once (tag 554)"),
    ],
)
def test_an_invalid_logon_gets_a_logout_saying_why(
    raw: RawFixClient, fields: list[tuple[int, str]], said: str
) -> None:
    raw.send("A", [(98, "0"), RESET, *CREDENTIALS, *fields])
    text = logout_text(raw)
    assert text.startswith("Logon refused") and said in text, text


@pytest.mark.parametrize("heartbeat", ["-1", "0", "3601"])
def test_a_heartbeat_interval_out_of_range_is_refused(raw: RawFixClient, heartbeat: str) -> None:
    raw.send("A", [(98, "0"), (108, heartbeat), RESET, *CREDENTIALS])
    assert "HeartBtInt (108) must be 1 to 3600 seconds" in logout_text(raw)


def test_a_logon_an_hour_off_gets_a_logout_saying_sending_time(raw: RawFixClient) -> None:
    raw.send(
        "A",
        [(98, "0"), (108, "30"), RESET, *CREDENTIALS],
        sending_time=timestamp(timedelta(hours=-1)),
    )
    assert "SendingTime accuracy problem" in logout_text(raw)


def test_a_fixt_logon_without_default_appl_ver_id_gets_a_logout_naming_1137(
    deployment: Deployment,
) -> None:
    client = RawFixClient(deployment.client_port, sender="CLIENT2", begin_string="FIXT.1.1")
    try:
        client.send("A", [(98, "0"), (108, "30"), (553, "client2"), (554, "client2-demo-pass")])
        assert "(tag 1137)" in logout_text(client)
    finally:
        client.close()


# -- logged on: tags the dictionary does not define, fields out of order ------------------


def order(cl: str) -> list[tuple[int, str]]:
    return [
        (11, cl),
        (55, "AAPL"),
        (54, "1"),
        (38, "10"),
        (40, "2"),
        (44, "180"),
        (60, timestamp()),
    ]


@pytest.mark.parametrize("tag", [4999, 9999])
def test_an_undefined_tag_gets_a_session_reject_invalid_tag_number(
    raw: RawFixClient, tag: int
) -> None:
    raw.logon()
    raw.send("D", [*order(f"UNDEF-{tag}"), (tag, "x")])
    reject = raw.expect("3")
    assert (reject[371], reject[373]) == (str(tag), "0")


def test_a_header_field_after_the_body_gets_tag_out_of_order(raw: RawFixClient) -> None:
    raw.logon()
    frame = raw.frame("D", [*order("ORDER-14"), (50, "DESK1")])  # SenderSubID in the body
    raw.sock.sendall(frame)
    raw.seq += 1
    reject = raw.expect("3")
    assert (reject[371], reject[373]) == ("50", "14")


# -- before authentication: bounded, and never slowing anyone else ------------------------


def test_bytes_without_a_logon_are_bounded_and_do_not_slow_a_logged_on_session(
    raw: RawFixClient, deployment: Deployment
) -> None:
    raw.logon()
    flood = socket.create_connection(("127.0.0.1", deployment.client_port), timeout=10)
    try:
        sent = 0
        closed = False
        try:
            while sent < 8 * 1024 * 1024:
                flood.sendall(b"A" * 65536)
                sent += 65536
                raw.send("1", [(112, f"T{sent}")])
                start = time.monotonic()
                assert raw.expect("0")[112] == f"T{sent}"
                assert time.monotonic() - start < 0.25  # the flood does not hold the loop
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        assert closed, "the gateway kept reading a connection that never sent a Logon"
        assert sent <= 1024 * 1024
    finally:
        flood.close()
    assert any("without a complete Logon" in r.payload for r in deployment.journal("fix.event"))


def test_a_slow_connection_without_a_logon_does_not_hold_the_gateway(
    raw: RawFixClient, deployment: Deployment
) -> None:
    raw.logon()
    slow = socket.create_connection(("127.0.0.1", deployment.client_port), timeout=10)
    try:
        for i in range(6):
            slow.sendall(b"8=FIX.4.4\x01"[i : i + 1])  # a byte at a time, never a message
            raw.send("1", [(112, f"S{i}")])
            start = time.monotonic()
            assert raw.expect("0")[112] == f"S{i}"
            assert time.monotonic() - start < 0.25
            time.sleep(0.4)
    finally:
        slow.close()


def test_a_connection_that_never_logs_on_is_closed_after_the_logon_timeout(
    deployment: Deployment,
) -> None:
    idle = socket.create_connection(("127.0.0.1", deployment.client_port), timeout=15)
    try:
        start = time.monotonic()
        assert idle.recv(1) == b""  # closed by the gateway, nothing sent
        assert 4 <= time.monotonic() - start <= 12
    finally:
        idle.close()
