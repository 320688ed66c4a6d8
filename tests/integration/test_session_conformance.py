"""FIX 4.4 session-level behaviour (Vol 2), checked with a hand-written FIX client on a raw
socket rather than QuickFIX, so nothing QuickFIX's own initiator would smooth over is
hidden: logon, heartbeats and test requests, sequence gaps and resend requests, sequence
numbers too low, garbled messages, invalid and missing fields, SendingTime accuracy,
logout. Case names follow the FIX session test cases (1S, 2b, 2c, ...)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.integration.deployment import Deployment
from tests.integration.rawfix import RawFixClient, timestamp

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
def raw(deployment: Deployment) -> Iterator[RawFixClient]:
    client = RawFixClient(deployment.client_port)
    yield client
    client.close()
    time.sleep(0.3)  # let the gateway notice the disconnect before the next test logs on


def test_1s_logon_is_answered_with_logon_and_the_same_heartbeat_interval(raw: RawFixClient) -> None:
    answer = raw.logon(heartbeat=17)
    assert (answer[108], answer[49], answer[56], answer[34]) == ("17", "QTGW", "CLIENT1", "1")
    assert answer.get(141) == "Y"


def test_test_request_is_answered_with_heartbeat_carrying_test_req_id(raw: RawFixClient) -> None:
    raw.logon()
    raw.send("1", [(112, "PING-42")])
    heartbeat = raw.receive()
    assert heartbeat is not None and (heartbeat[35], heartbeat[112]) == ("0", "PING-42")


def test_2b_sequence_gap_gets_a_resend_request(raw: RawFixClient) -> None:
    raw.logon()
    raw.seq += 3  # skip 2, 3, 4
    raw.send("1", [(112, "GAP")])
    resend = raw.expect("2")
    assert (resend[7], resend[16]) == ("2", "0")
    # Fill the gap with a SequenceReset-GapFill: the session carries on.
    raw.send("4", [(123, "Y"), (36, "6")], seq=2, header=[(43, "Y"), (122, timestamp())])
    raw.send("1", [(112, "AFTER")])
    assert raw.expect("0")[112] == "AFTER"


def test_2c_sequence_number_too_low_gets_logout_and_disconnect(raw: RawFixClient) -> None:
    raw.logon()
    raw.send("1", [(112, "OK")])
    raw.expect("0")
    raw.send("1", [(112, "LOW")], seq=1)
    logout = raw.expect("5")
    assert "MsgSeqNum too low" in logout.get(58, "")
    assert raw.closed()


def test_2d_garbled_message_is_ignored_and_the_session_stays_up(raw: RawFixClient) -> None:
    raw.logon()
    raw.sock.sendall(raw.frame("1", [(112, "BAD")], checksum_delta=7))  # wrong CheckSum
    raw.send("1", [(112, "GOOD")], seq=raw.seq)  # the same MsgSeqNum, sent correctly
    raw.seq += 1
    assert raw.expect("0")[112] == "GOOD"


def test_invalid_field_value_gets_session_reject(raw: RawFixClient) -> None:
    raw.logon()
    raw.send(
        "D",
        [
            (11, "BADSIDE-1"),
            (55, "AAPL"),
            (54, "Z"),
            (38, "10"),
            (40, "2"),
            (44, "180"),
            (60, timestamp()),
        ],
    )
    reject = raw.expect("3")
    assert (reject[45], reject[371], reject[373]) == ("2", "54", "5")


def test_missing_required_field_gets_session_reject(raw: RawFixClient) -> None:
    raw.logon()
    raw.send("D", [(55, "AAPL"), (54, "1"), (38, "10"), (40, "2"), (44, "180"), (60, timestamp())])
    reject = raw.expect("3")
    assert (reject[45], reject[371], reject[373]) == ("2", "11", "1")


def test_sending_time_far_off_is_rejected_and_logged_out(raw: RawFixClient) -> None:
    raw.logon()
    raw.send("1", [(112, "LATE")], sending_time=timestamp(timedelta(minutes=-10)))
    reject = raw.expect("3")
    assert reject[373] == "10"  # SendingTime accuracy problem
    assert raw.expect("5")
    assert raw.closed()


def test_first_message_not_logon_is_dropped(raw: RawFixClient) -> None:
    raw.send("1", [(112, "HELLO")])
    assert raw.closed()


def test_logout_is_answered_with_logout(raw: RawFixClient) -> None:
    raw.logon()
    raw.send("5", [(58, "bye")])
    assert raw.expect("5")
    assert raw.closed()


def test_order_over_a_raw_socket_is_acknowledged_and_filled(raw: RawFixClient) -> None:
    raw.logon()
    raw.send(
        "D",
        [
            (11, "RAW-1"),
            (55, "AAPL"),
            (54, "1"),
            (38, "10"),
            (40, "2"),
            (44, "191"),
            (59, "0"),
            (60, timestamp()),
        ],
    )
    ack = raw.expect("8")
    assert (ack[11], ack[150], ack[39]) == ("RAW-1", "0", "0")
    while (report := raw.expect("8"))[39] != "2":
        assert report[150] == "F"
    assert report[14] == "10"
    raw.send("5", [])
    raw.expect("5")
