"""Plays QuickFIX's acceptance-test definitions (`.def` files, quickfix/test/definitions/
server) against a FIX acceptor over TCP, as QuickFIX's own Ruby runner does (test/Runner.rb,
Reflector.rb, ReflectorClient.rb, FixParser.rb, Comparator.rb), so the gateway's session
layer is checked against the same cases QuickFIX is.

The format, line by line (Reflector.rb):

* empty lines and lines starting with `#` are skipped;
* `iCONNECT` / `iDISCONNECT`: open / close a TCP connection to the acceptor;
* `I<message>`: send the message; `E<message>`: read the next message and compare it with
  this one; `eDISCONNECT`: the acceptor must close the connection within ten seconds,
  sending nothing (`eCONNECT` means nothing for a client);
* `I2,`/`E2,`/`i2,`/`e2,` (a digit and a comma after the letter): the same on connection 2
  (without a digit: connection 1);
* in a message, SOH separates fields; `<TIME>` is the UTC time now as
  `YYYYMMDD-HH:MM:SS`, `<TIME+n>` / `<TIME-n>` that time n seconds on or back;
* a message starting with `8=` gets BodyLength (9) after BeginString when it has none, and
  CheckSum (10) at its end when it has none; one that carries them keeps them as written
  (that is how the definitions send wrong lengths and checksums).

Comparison (Comparator.rb with definitions/fields.fmt): the received message must have
the same fields, in the same order, with the same values, except the fields QuickFIX
matches by pattern (SendingTime 52, OrigSendingTime 122, TransactTime 60, OrigTime 42:
any timestamp; CheckSum 10: three digits). Two differences, both stricter or equivalent:

* QuickFIX compares BodyLength (9) literally with the definition's value, which holds
  only for its own CompIDs and millisecond timestamps. Here the received 9 must be the
  true length of the received body and 10 its true checksum; with every other field
  compared, that leaves only the timestamps' lengths, which `timestamp_patterns` pins to
  the session's precision (QuickFIX's patterns are unanchored and accept any suffix).
* CompIDs are mapped (`comp_ids`): the definitions' SenderCompID/TargetCompID values are
  replaced in tags 49 and 56 of every message sent and expected, one mapping per
  connection generation (see `Step.generation`).

One option goes beyond QuickFIX's runner, for acceptors whose application is not
QuickFIX's acceptance application (src/at_application.h), which echoes every
NewOrderSingle back to its sender: `answers` names the MsgTypes a definition expects echoed
and what the acceptor answers instead (`{"D": "8"}`: an ExecutionReport). Such an
expectation is compared on the session level only: the standard header fields and
ClOrdID (11), with MsgType (35) the answer's, by the rules above; the rest of the body is
the application's business.

Pure apart from the sockets `Player` opens; no QuickFIX import.
"""

from __future__ import annotations

import enum
import re
import select
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

SOH = "\x01"
COMP_ID_TAGS = (49, 56)
"""SenderCompID and TargetCompID: the tags whose values `comp_ids` mappings replace."""


class DefinitionError(ValueError):
    """A line of a definition that is not in the format."""


class CaseFailed(AssertionError):
    """A definition's expectation was not met: which line, why, and the traffic so far."""

    def __init__(
        self,
        name: str,
        step: Step | None,
        reason: str,
        expected: str | None = None,
        received: str | None = None,
        transcript: Sequence[str] = (),
    ) -> None:
        self.name, self.step, self.reason = name, step, reason
        self.expected, self.received = expected, received
        lines = [f"{name}" + (f" line {step.lineno}: {readable(step.source)}" if step else "")]
        lines.append(f"    reason  : {reason}")
        if expected is not None:
            lines.append(f"    expected: {readable(expected)}")
        if received is not None:
            lines.append(f"    received: {readable(received)}")
        if transcript:
            lines.append("    traffic (last 30):")
            lines += [f"      {readable(t)}" for t in transcript[-30:]]
        super().__init__("\n".join(lines))


def readable(message: str) -> str:
    """A message with SOH shown as `|`, as QuickFIX's runner reports it."""
    return message.replace(SOH, "|")


class Kind(enum.Enum):
    CONNECT = "iCONNECT"
    DISCONNECT = "iDISCONNECT"
    WAIT_CONNECT = "eCONNECT"
    WAIT_DISCONNECT = "eDISCONNECT"
    SEND = "I"
    EXPECT = "E"


@dataclass(frozen=True)
class Step:
    """One line that does something. generation: which connection generation it belongs to
    (0, 1, ...): a new one starts at each connect made while no connection of the
    definition is open. QuickFIX's acceptance server runs with ResetOnLogon=Y, so a
    definition that logs on again after its connection ended (2i, 2k, 2o) starts again at
    MsgSeqNum 1; a player gives each generation a session of its own instead."""

    lineno: int
    kind: Kind
    connection: int
    message: str
    source: str
    generation: int


@dataclass(frozen=True)
class Definition:
    name: str
    steps: tuple[Step, ...]

    @property
    def generations(self) -> int:
        """How many connection generations (fresh sessions) the definition needs."""
        return 1 + max((s.generation for s in self.steps), default=0)

    def comp_ids(self) -> set[str]:
        """Every CompID (49, 56) its messages carry, garbled ones aside."""
        found: set[str] = set()
        for step in self.steps:
            for tag, value in fields(step.message):
                if tag in COMP_ID_TAGS:
                    found.add(value)
        return found


_CONNECTION = re.compile(r"^[IEie]\d,")


def parse(text: str, name: str = "<definition>") -> Definition:
    """The steps of a definition (its text decoded as Latin-1, one byte per character)."""
    steps: list[Step] = []
    open_connections: set[int] = set()
    generation, connected_before = 0, False
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r")
        if not line or line.startswith("#"):
            continue
        if _CONNECTION.match(line):
            connection, body = int(line[1]), line[3:]
        else:
            connection, body = 1, line[1:]
        letter = line[0]
        if letter in "IE":
            kind = Kind.SEND if letter == "I" else Kind.EXPECT
        elif letter in "ie" and body in ("CONNECT", "DISCONNECT"):
            kind = Kind(f"{letter}{body}")
        else:
            raise DefinitionError(f"{name} line {lineno}: syntax error: {readable(line)!r}")
        if kind is Kind.CONNECT:
            if not open_connections and connected_before:
                generation += 1
            open_connections.add(connection)
            connected_before = True
        elif kind in (Kind.DISCONNECT, Kind.WAIT_DISCONNECT):
            open_connections.discard(connection)
        message = body if kind in (Kind.SEND, Kind.EXPECT) else ""
        if "<FILE:" in message:
            raise DefinitionError(f"{name} line {lineno}: <FILE:...> is not supported")
        steps.append(Step(lineno, kind, connection, message, line, generation))
    return Definition(name, tuple(steps))


def load(path: Path) -> Definition:
    return parse(path.read_bytes().decode("latin-1"), path.stem)


# -- building messages ------------------------------------------------------------------


_TIME = re.compile(r"<TIME(?:([+-])(\d+))?>")


def timeify(message: str, now: datetime) -> str:
    """Replace `<TIME>`, `<TIME+n>` and `<TIME-n>` (Reflector.rb timeify!)."""

    def stamp(match: re.Match[str]) -> str:
        sign, seconds = match.group(1), int(match.group(2) or 0)
        moment = now + timedelta(seconds=seconds if sign != "-" else -seconds)
        return moment.strftime("%Y%m%d-%H:%M:%S")

    return _TIME.sub(stamp, message)


def fields(message: str) -> list[tuple[int | None, str]]:
    """(tag, value) of each `tag=value` field; tag None where the part is not one."""
    result: list[tuple[int | None, str]] = []
    for part in message.split(SOH):
        if not part:
            continue
        tag, sep, value = part.partition("=")
        result.append((int(tag) if sep and re.fullmatch(r"-?\d+", tag) else None, value))
    return result


def substitute_comp_ids(message: str, comp_ids: Mapping[str, str]) -> str:
    """The message with the values of 49 and 56 mapped; every other byte as it was."""

    def one(part: str) -> str:
        tag, sep, value = part.partition("=")
        if sep and tag in ("49", "56") and value in comp_ids:
            return f"{tag}={comp_ids[value]}"
        return part

    return SOH.join(one(p) for p in message.split(SOH))


def checksum(data: bytes) -> int:
    """FIX CheckSum (10): the sum of the bytes, modulo 256."""
    return sum(data) % 256


_HAS_LENGTH = re.compile("\x019=.*?\x01")
_HEAD = re.compile("^8=.*?\x01")
_TRAILER = re.compile("\x0110=.*\x01$")


def fixify(message: str) -> str:
    """Add BodyLength and CheckSum where missing (Reflector.rb fixify!); a message that does
    not start with BeginString is left as it is."""
    head_match = _HEAD.match(message)
    if head_match is None:
        return message
    head, body = head_match.group(0), message[head_match.end() :]
    has_length = _HAS_LENGTH.search(message) is not None
    trailer_match = _TRAILER.search(body)
    trailer = trailer_match.group(0) if trailer_match else None
    if trailer_match:
        # As in Reflector.rb, the SOH before a CheckSum written in the definition goes with
        # it, so a BodyLength added to such a message (always a wrong one) is one short.
        body = body[: trailer_match.start()]
    length = "" if has_length else f"9={len(body)}{SOH}"
    if trailer is None:
        trailer = f"10={checksum((head + length + body).encode('latin-1')):03d}{SOH}"
    return head + length + body + trailer


def build(message: str, comp_ids: Mapping[str, str], now: datetime) -> str:
    """A definition's message as it goes on the wire (or as it is expected)."""
    return fixify(substitute_comp_ids(timeify(message, now), comp_ids))


# -- comparing --------------------------------------------------------------------------


def timestamp_patterns(precision: int) -> dict[int, re.Pattern[str]]:
    """The fields compared by pattern: SendingTime (52) and OrigSendingTime (122) at the
    session's precision (0, 3 or 6 decimals), TransactTime (60) and OrigTime (42) at any."""
    seconds = r"\d{8}-\d{2}:\d{2}:\d{2}"
    exact = re.compile(seconds + (rf"\.\d{{{precision}}}" if precision else ""))
    loose = re.compile(seconds + r"(?:\.\d{3}|\.\d{6}|\.\d{9})?")
    return {52: exact, 122: exact, 60: loose, 42: loose}


def framing_problem(received: str) -> str | None:
    """Why the received frame's BodyLength or CheckSum is wrong, or None."""
    match = re.match("8=[^\x01]*\x019=(\\d+)\x01", received)
    if match is None:
        return "does not start with BeginString (8) and BodyLength (9)"
    trailer = received.rfind(f"{SOH}10=")
    if trailer < 0 or not received.endswith(SOH):
        return "does not end with CheckSum (10)"
    body = received[match.end() : trailer + 1]
    if int(match.group(1)) != len(body):
        return f"BodyLength (9) is {match.group(1)}, the body is {len(body)} bytes"
    value = received[trailer + 4 : -1]
    expected = checksum(received[: trailer + 1].encode("latin-1"))
    if not re.fullmatch(r"\d{3}", value) or int(value) != expected:
        return f"CheckSum (10) is {value!r}, the bytes sum to {expected:03d}"
    return None


HEADER_TAGS = frozenset(
    {8, 9, 35, 34, 43, 49, 50, 52, 56, 57, 90, 91, 97, 115, 116, 122, 128, 129, 142, 143,
     144, 145, 212, 213, 347, 369, 627, 628, 629, 630, 1128, 1129}
)  # fmt: skip
"""The standard header (FIX 4.4 and FIXT.1.1), BeginString to the hop group."""
SESSION_LEVEL_TAGS = HEADER_TAGS | {11, 10}
"""What an expected echo is compared on (see `answers` in the module docstring)."""


def compare(
    expected: str,
    received: str,
    patterns: Mapping[int, re.Pattern[str]],
    answers: Mapping[str, str] | None = None,
) -> str | None:
    """Why received does not match expected (Comparator.rb's reasons), or None. answers:
    MsgTypes expected as an echo -> the MsgType of the answer compared instead, on
    `SESSION_LEVEL_TAGS` only."""
    problem = framing_problem(received)
    if problem is not None:
        return problem
    want = [p.partition("=") for p in expected.split(SOH) if p]
    got = [p.partition("=") for p in received.split(SOH) if p]
    echoed = next((v for t, _, v in want if t == "35"), None)
    if answers and echoed is not None and echoed in answers:

        def session_level(parts: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
            return [p for p in parts if p[0].isdigit() and int(p[0]) in SESSION_LEVEL_TAGS]

        want = [(t, e, answers[echoed] if t == "35" else v) for t, e, v in session_level(want)]
        got = session_level(got)
    if len(want) != len(got):
        return "Number of fields do not match"
    for (tag, _, value), (got_tag, _, got_value) in zip(want, got, strict=True):
        if tag != got_tag:
            return f"Expected field ({tag}) but found field ({got_tag})"
        if tag in ("9", "10"):
            continue  # checked by framing_problem
        pattern = patterns.get(int(tag)) if tag.isdigit() else None
        if pattern is None:
            if value != got_value:
                return f"Value in field ({tag}) should be ({value}) but was ({got_value})"
        elif pattern.fullmatch(got_value) is None:
            return f"Field ({tag}) does not match pattern {pattern.pattern} ({got_value})"
    return None


# -- playing ----------------------------------------------------------------------------


class Disconnected(Exception):
    """The peer closed the connection."""


class FixReader:
    """Reads whole FIX frames from a socket the way FixParser.rb does: up to `<SOH>9=`,
    the BodyLength, that many bytes, then up to the SOH that ends the CheckSum."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError as exc:
            raise Disconnected from exc
        if not chunk:
            raise Disconnected
        self.buffer += chunk

    def read(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while (start := self.buffer.find(b"\x019=")) < 0:
            self._fill(deadline)
        while (end := self.buffer.find(b"\x01", start + 3)) < 0:
            self._fill(deadline)
        length = self.buffer[start + 3 : end]
        if not length.isdigit():
            raise ValueError(f"BodyLength (9) {length!r} is not a number")
        body_end = end + 1 + int(length)
        while (stop := self.buffer.find(b"\x01", body_end)) < 0:  # -1 while short of body_end
            self._fill(deadline)
        frame, self.buffer = self.buffer[: stop + 1], self.buffer[stop + 1 :]
        return frame.decode("latin-1")

    def closed(self, timeout: float) -> tuple[bool, bytes]:
        """Whether the peer closes within timeout without sending anything (and what it
        sent if it did)."""
        if self.buffer:
            return False, self.buffer
        readable_, _, _ = select.select([self.sock], [], [], timeout)
        if not readable_:
            return False, b""
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            return True, b""
        return not data, data


@dataclass
class Player:
    """Plays definitions against host:port.

    comp_ids(generation) gives the CompID mapping of each connection generation (the
    definitions' own CompIDs to the ones the acceptor is configured with). patterns: the
    fields compared by pattern (`timestamp_patterns`). answers: see the module docstring.
    expect_timeout: how long `E` waits
    for a message (QuickFIX's runner waits for ever); disconnect_timeout: how long
    `eDISCONNECT` waits for the acceptor to close (ten seconds in ReflectorClient.rb)."""

    host: str
    port: int
    comp_ids: Callable[[int], Mapping[str, str]]
    patterns: Mapping[int, re.Pattern[str]] = field(default_factory=lambda: timestamp_patterns(3))
    answers: Mapping[str, str] = field(default_factory=dict)
    expect_timeout: float = 20.0
    disconnect_timeout: float = 10.0
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def play(self, definition: Definition) -> list[str]:
        """Run every step; raise CaseFailed at the first unmet expectation. Returns the
        traffic (`> ` sent, `< ` received, `* ` connection events)."""
        run = _Run(self, definition)
        try:
            for step in definition.steps:
                run.do(step)
        finally:
            for reader in run.readers.values():
                reader.sock.close()
        return run.transcript


@dataclass
class _Run:
    """One play of a definition: its connections and the traffic so far."""

    player: Player
    definition: Definition
    readers: dict[int, FixReader] = field(default_factory=dict)
    transcript: list[str] = field(default_factory=list)

    def fail(self, step: Step, reason: str, **kw: str | None) -> CaseFailed:
        return CaseFailed(self.definition.name, step, reason, transcript=self.transcript, **kw)

    def reader(self, step: Step, missing: str, **kw: str | None) -> FixReader:
        reader = self.readers.get(step.connection)
        if reader is None:
            raise self.fail(step, missing, **kw)
        return reader

    def message(self, step: Step) -> str:
        player = self.player
        return build(step.message, player.comp_ids(step.generation), player.clock())

    def do(self, step: Step) -> None:
        cid, player = step.connection, self.player
        if step.kind is Kind.CONNECT:
            sock = socket.create_connection((player.host, player.port), timeout=10)
            self.readers[cid] = FixReader(sock)
            self.transcript.append(f"* {cid} connected")
        elif step.kind is Kind.DISCONNECT:
            if cid in self.readers:
                self.readers.pop(cid).sock.close()
            self.transcript.append(f"* {cid} closed by us")
        elif step.kind is Kind.WAIT_DISCONNECT:
            closed, data = self.reader(step, "no connection to wait on").closed(
                player.disconnect_timeout
            )
            if not closed:
                raise self.fail(
                    step,
                    f"Expected disconnection, got data: {readable(data.decode('latin-1'))}"
                    if data
                    else f"Connection hangs after {player.disconnect_timeout:g} seconds.",
                )
            self.readers.pop(cid).sock.close()
            self.transcript.append(f"* {cid} closed by the acceptor")
        elif step.kind is Kind.SEND:
            reader = self.reader(step, "Unable to send message because connection was dropped")
            wire = self.message(step)
            try:
                reader.sock.sendall(wire.encode("latin-1"))
            except OSError as exc:
                raise self.fail(step, f"sending failed: {exc}") from exc
            self.transcript.append(f"> {cid} {wire}")
        elif step.kind is Kind.EXPECT:
            expected = self.message(step)
            reader = self.reader(step, "no connection to read from", expected=expected)
            try:
                received = reader.read(player.expect_timeout)
            except Disconnected:
                raise self.fail(
                    step, "Was disconnected, expected data", expected=expected
                ) from None
            except TimeoutError:
                raise self.fail(
                    step, f"no message within {player.expect_timeout:g} seconds", expected=expected
                ) from None
            self.transcript.append(f"< {cid} {received}")
            problem = compare(expected, received, player.patterns, player.answers)
            if problem is not None:
                raise self.fail(step, problem, expected=expected, received=received)
