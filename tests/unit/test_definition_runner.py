"""The player of QuickFIX's acceptance definitions (tests/conformance/runner.py): the .def
format as QuickFIX's Ruby runner reads it, framing as it frames, comparison with its
patterns, and the play itself against a scripted acceptor on a loopback socket."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conformance.runner import (
    CaseFailed,
    DefinitionError,
    Disconnected,
    FixReader,
    Kind,
    Player,
    build,
    checksum,
    compare,
    fixify,
    load,
    parse,
    substitute_comp_ids,
    timeify,
    timestamp_patterns,
)

DEFINITIONS = Path(__file__).resolve().parents[1] / "conformance" / "definitions"
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
MS = timestamp_patterns(3)


def soh(text: str) -> str:
    return text.replace("|", "\x01")


def framed(text: str) -> str:
    """A correctly framed message from `8=...|35=...|...|` (BodyLength and CheckSum added)."""
    return fixify(soh(text))


# -- the format ---------------------------------------------------------------------------


def test_lines_become_steps_on_their_connections_and_comments_are_skipped() -> None:
    definition = parse(
        soh(
            "# a comment\n"
            "\n"
            "iCONNECT\n"
            "I8=FIX.4.4|35=A|34=1|\n"
            "E8=FIX.4.4|9=5|35=A|10=0|\n"
            "i2,CONNECT\n"
            "I2,8=FIX.4.4|35=0|\n"
            "e2,DISCONNECT\n"
            "iDISCONNECT\n"
        )
    )
    assert [(s.lineno, s.kind, s.connection) for s in definition.steps] == [
        (3, Kind.CONNECT, 1),
        (4, Kind.SEND, 1),
        (5, Kind.EXPECT, 1),
        (6, Kind.CONNECT, 2),
        (7, Kind.SEND, 2),
        (8, Kind.WAIT_DISCONNECT, 2),
        (9, Kind.DISCONNECT, 1),
    ]
    assert definition.steps[4].message == soh("8=FIX.4.4|35=0|")
    assert definition.generations == 1


def test_a_connect_after_every_connection_ended_starts_a_new_generation() -> None:
    definition = parse("iCONNECT\neDISCONNECT\niCONNECT\nI8=FIX.4.4\x01\neDISCONNECT\n")
    assert [s.generation for s in definition.steps] == [0, 0, 1, 1, 1]
    assert definition.generations == 2


@pytest.mark.parametrize("line", ["X8=FIX.4.4", "iCONNECTED", "eWAIT", " # indented"])
def test_a_line_out_of_the_format_is_a_syntax_error(line: str) -> None:
    with pytest.raises(DefinitionError, match="line 2"):
        parse(f"iCONNECT\n{line}\n")


def test_time_placeholders_are_utc_seconds_with_offsets() -> None:
    assert timeify("52=<TIME>|122=<TIME-1>|x=<TIME+121>", NOW) == (
        "52=20260304-05:06:07|122=20260304-05:06:06|x=20260304-05:08:08"
    )


def test_body_length_and_checksum_are_added_as_quickfix_adds_them() -> None:
    # QuickFIX's own expectation for the Logon answer (fix44/1a) writes 9=61: framing the
    # same message without it must give 61 too.
    message = framed("8=FIX.4.4|35=A|34=1|49=ISLD|52=00000000-00:00:00.000|56=TW|98=0|108=30|")
    assert message.startswith(soh("8=FIX.4.4|9=61|35=A|"))
    assert compare(message, message, MS) is None
    trailer = message.rindex("\x0110=")
    assert int(message[trailer + 4 : -1]) == checksum(message[: trailer + 1].encode())


def test_a_length_or_checksum_written_in_the_definition_is_kept() -> None:
    assert fixify(soh("8=FIX.4.4|9=40|35=A|34=1|10=256|")) == soh(
        "8=FIX.4.4|9=40|35=A|34=1|10=256|"
    )
    with_length = fixify(soh("8=FIX.4.4|9=30|35=D|34=2|"))
    assert with_length.startswith(soh("8=FIX.4.4|9=30|35=D|34=2|10="))
    # Only a CheckSum written: the BodyLength added leaves out the SOH before it (Reflector.rb).
    assert fixify(soh("8=FIX.4.4|35=0|34=2|10=256|")) == soh("8=FIX.4.4|9=9|35=0|34=2|10=256|")


def test_a_message_not_starting_with_begin_string_is_sent_as_written() -> None:
    text = soh("35=0|8=FIX.4.4|9=29|34=2|10=121|")
    assert fixify(text) == text


def test_comp_ids_are_mapped_in_49_and_56_only() -> None:
    mapping = {"TW": "AB", "ISLD": "QTGW"}
    assert substitute_comp_ids(soh("49=TW|56=ISLD|115=TW|4garbled9=TW|112=ISLD|"), mapping) == soh(
        "49=AB|56=QTGW|115=TW|4garbled9=TW|112=ISLD|"
    )


def test_every_vendored_definition_parses_and_uses_only_the_quickfix_comp_ids() -> None:
    paths = sorted(DEFINITIONS.glob("*/*.def"))
    assert paths
    for path in paths:
        definition = load(path)
        assert definition.steps[0].kind is Kind.CONNECT, path
        # TW/ISLD, and the wrong or empty ones the CompID cases send on purpose.
        assert definition.comp_ids() <= {"TW", "ISLD", "WT", "DLSI", ""}, path


# -- comparing ----------------------------------------------------------------------------

EXPECTED = "8=FIX.4.4|9=61|35=0|34=2|49=ISLD|52=00000000-00:00:00.000|56=TW|112=HELLO|10=0|"
RECEIVED = "8=FIX.4.4|35=0|34=2|49=ISLD|52=20260304-05:06:07.123|56=TW|112=HELLO|"


def test_a_message_equal_but_for_time_and_checksum_matches() -> None:
    assert compare(soh(EXPECTED), framed(RECEIVED), MS) is None


@pytest.mark.parametrize(
    ("received", "reason"),
    [
        (
            RECEIVED.replace("112=HELLO", "112=HELLO2"),
            r"Value in field \(112\) should be \(HELLO\) but was \(HELLO2\)",
        ),
        (
            RECEIVED.replace("34=2|49=ISLD", "49=ISLD|34=2"),
            r"Expected field \(34\) but found field \(49\)",
        ),
        (RECEIVED + "58=extra|", "Number of fields do not match"),
        (RECEIVED.replace(".123", ".123456"), r"Field \(52\) does not match pattern"),
        (RECEIVED.replace(".123", ""), r"Field \(52\) does not match pattern"),
    ],
)
def test_a_difference_is_named_as_quickfix_names_it(received: str, reason: str) -> None:
    problem = compare(soh(EXPECTED), framed(received), MS)
    assert problem is not None and re.search(reason, problem), problem


def test_sending_time_is_compared_at_the_sessions_precision() -> None:
    micro = framed(RECEIVED.replace(".123", ".123456"))
    assert compare(soh(EXPECTED), micro, timestamp_patterns(6)) is None
    assert compare(soh(EXPECTED), micro, MS) is not None


def test_a_received_body_length_or_checksum_that_is_wrong_fails() -> None:
    good = framed(RECEIVED)
    wrong_length = good.replace("\x019=", "\x019=1", 1)
    assert "BodyLength (9)" in (compare(soh(EXPECTED), wrong_length, MS) or "")
    end = good.rindex("\x0110=")
    wrong_sum = good[: end + 4] + f"{(int(good[end + 4 : -1]) + 1) % 256:03d}\x01"
    assert "CheckSum (10)" in (compare(soh(EXPECTED), wrong_sum, MS) or "")


ECHO = "8=FIX.4.4|9=132|35=D|34=5|43=Y|49=ISLD|52=00000000-00:00:00.000|56=TW|122=00000000-00:00:00.000|11=ID|21=3|40=1|54=1|55=INTC|60=00000000-00:00:00|10=0|"
ANSWER = "8=FIX.4.4|35=8|34=5|43=Y|49=ISLD|52=20260304-05:06:07.200|56=TW|122=20260304-05:06:07.100|6=0|11=ID|14=0|17=E1|37=NONE|39=8|54=1|55=INTC|58=no|150=8|151=0|"


def test_an_expected_echo_is_compared_with_the_answer_on_the_session_level() -> None:
    answers = {"D": "8"}
    assert compare(soh(ECHO), framed(ANSWER), MS, answers) is None
    assert compare(soh(ECHO), framed(ANSWER), MS) == "Number of fields do not match"
    resent_late = framed(ANSWER.replace("34=5|", "34=6|"))
    assert compare(soh(ECHO), resent_late, MS, answers) == (
        "Value in field (34) should be (5) but was (6)"
    )
    not_a_resend = framed(ANSWER.replace("43=Y|", "").replace("122=20260304-05:06:07.100|", ""))
    assert compare(soh(ECHO), not_a_resend, MS, answers) == "Number of fields do not match"
    other_order = framed(ANSWER.replace("11=ID|", "11=ID2|"))
    assert "field (11)" in (compare(soh(ECHO), other_order, MS, answers) or "")
    session_reject = framed(ANSWER.replace("35=8|", "35=3|"))
    assert "field (35)" in (compare(soh(ECHO), session_reject, MS, answers) or "")


# -- playing against a scripted acceptor --------------------------------------------------

Script = Callable[[socket.socket, FixReader], None]


@pytest.fixture
def acceptor() -> Iterator[Callable[[Script], int]]:
    """acceptor(script) -> port: runs script(connection, reader) for each connection."""
    servers: list[socket.socket] = []
    connections: list[socket.socket] = []  # kept open until the test ends

    def run(script: Script, conn: socket.socket) -> None:
        with contextlib.suppress(Disconnected, OSError):
            script(conn, FixReader(conn))

    def start(script: Script) -> int:
        server = socket.create_server(("127.0.0.1", 0))
        servers.append(server)

        def serve() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                connections.append(conn)
                threading.Thread(target=run, args=(script, conn), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()
        port: int = server.getsockname()[1]
        return port

    yield start
    for sock in servers + connections:
        sock.close()


def echo_logon_then_close(conn: socket.socket, reader: FixReader) -> None:
    """Answers a Logon with QTGW's Logon, then closes the connection after the next message."""
    logon = reader.read(5)
    sender = re.search("\x0149=([^\x01]*)", logon)
    assert sender
    answer = f"8=FIX.4.4|35=A|34=1|49=QTGW|52={NOW:%Y%m%d-%H:%M:%S}.000|56={sender[1]}|98=0|108=30|"
    conn.sendall(framed(answer).encode())
    reader.read(5)
    conn.close()


LOGON = (
    "iCONNECT\n"
    "I8=FIX.4.4|35=A|34=1|49=TW|52=<TIME>|56=ISLD|98=0|108=30|\n"
    "E8=FIX.4.4|9=61|35=A|34=1|49=ISLD|52=00000000-00:00:00.000|56=TW|98=0|108=30|10=0|\n"
)


def player(port: int, disconnect_timeout: float = 10.0) -> Player:
    return Player(
        "127.0.0.1",
        port,
        comp_ids=lambda g: {"TW": "AB", "ISLD": "QTGW"},
        disconnect_timeout=disconnect_timeout,
    )


def test_a_definition_the_acceptor_follows_passes(acceptor: Callable[[Script], int]) -> None:
    port = acceptor(echo_logon_then_close)
    definition = parse(soh(LOGON + "I8=FIX.4.4|35=5|34=2|49=TW|52=<TIME>|56=ISLD|\neDISCONNECT\n"))
    traffic = player(port).play(definition)
    assert traffic[0] == "* 1 connected" and traffic[-1] == "* 1 closed by the acceptor"
    assert "\x0149=AB\x01" in traffic[1] and "\x0156=QTGW\x01" in traffic[1]


def test_an_unmet_expectation_names_its_line_and_both_messages(
    acceptor: Callable[[Script], int],
) -> None:
    port = acceptor(echo_logon_then_close)
    definition = parse(soh(LOGON.replace("108=30|10=0", "108=31|10=0")))
    with pytest.raises(CaseFailed) as failed:
        player(port).play(definition)
    assert failed.value.step is not None and failed.value.step.lineno == 3
    assert "Value in field (108) should be (31) but was (30)" in str(failed.value)
    assert "received: 8=FIX.4.4|9=" in str(failed.value)


def test_data_where_a_disconnect_is_expected_fails(acceptor: Callable[[Script], int]) -> None:
    port = acceptor(echo_logon_then_close)
    definition = parse(
        soh("iCONNECT\nI8=FIX.4.4|35=A|34=1|49=TW|52=<TIME>|56=ISLD|98=0|108=30|\neDISCONNECT\n")
    )
    with pytest.raises(CaseFailed, match="Expected disconnection, got data"):
        player(port).play(definition)


def test_a_connection_left_open_where_a_disconnect_is_expected_fails(
    acceptor: Callable[[Script], int],
) -> None:
    def read_and_stay(conn: socket.socket, reader: FixReader) -> None:
        reader.read(5)

    port = acceptor(read_and_stay)
    definition = parse(soh("iCONNECT\nI8=FIX.4.4|35=A|34=1|\neDISCONNECT\n"))
    with pytest.raises(CaseFailed, match=r"Connection hangs after 0\.5 seconds"):
        player(port, disconnect_timeout=0.5).play(definition)


def test_a_message_expected_after_the_acceptor_closed_fails(
    acceptor: Callable[[Script], int],
) -> None:
    port = acceptor(lambda conn, reader: conn.close())
    definition = parse(soh("iCONNECT\nE8=FIX.4.4|35=A|\n"))
    with pytest.raises(CaseFailed, match="Was disconnected, expected data"):
        player(port).play(definition)


def test_build_maps_comp_ids_after_placing_the_time() -> None:
    message = build(soh("8=FIX.4.4|35=0|49=TW|52=<TIME>|56=ISLD|"), {"TW": "AB"}, NOW)
    assert message.startswith(soh("8=FIX.4.4|9=40|35=0|49=AB|52=20260304-05:06:07|56=ISLD|10="))
