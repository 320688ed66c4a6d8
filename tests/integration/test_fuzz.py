"""Arbitrary bytes in every body field of every message type the gateway accepts, and data
fields of any length and content (their length fields too), on both FIX versions, over a
real session (hypothesis, derandomized so a CI run is repeatable): the gateway stays up,
answers every well-formed message, journals every frame exactly as sent, and never sends
a tag it did not set itself (no field smuggled or injected)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qtinfra.store.journal_text import wire_bytes
from tests.integration.deployment import Deployment
from tests.integration.rawfix import RawFixClient, timestamp

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

EXAMPLES = 600  # per FIX version and database: a few thousand messages in all

# What each answer may carry: the header and trailer, and the body tags the gateway's
# encoders (or QuickFIX, for 0 and 3) set. Anything else would have been injected.
HEADER = {8, 9, 35, 34, 49, 52, 56, 43, 122, 1128, 10}
ALLOWED = {
    "8": {37, 11, 41, 17, 150, 39, 1, 55, 48, 22, 54, 38, 40, 44, 59, 15, 32, 31, 30, 151,
          14, 6, 60, 103, 58, 378, 790},
    "9": {37, 11, 41, 39, 434, 102, 58, 60},
    "j": {45, 372, 379, 380, 58},
    "3": {45, 371, 372, 373, 58},
    "0": {112},
}  # fmt: skip

BODIES: dict[str, list[tuple[int, str]]] = {
    "D": [(11, "F-{n}"), (55, "AAPL"), (54, "1"), (38, "10"), (40, "2"), (44, "150"),
          (59, "0"), (60, "{now}"), (58, "note"), (1, "ACC1")],
    "F": [(11, "FX-{n}"), (41, "NOPE-{n}"), (55, "AAPL"), (54, "1"), (38, "10"), (60, "{now}")],
    "G": [(11, "FG-{n}"), (41, "NOPE-{n}"), (55, "AAPL"), (54, "1"), (38, "10"), (40, "2"),
          (44, "150"), (59, "0"), (60, "{now}")],
    "H": [(11, "FH-{n}"), (55, "AAPL"), (54, "1"), (790, "Q-{n}")],
    "1": [(112, "T-{n}")],
    "AE": [(571, "R-{n}")],
}  # fmt: skip
# Any byte but SOH (which would end the field and break the frame: a garbled frame is
# ignored by the session layer, tested in test_hostile_input) and '=' at the start.
VALUES = st.binary(max_size=24).map(lambda b: b.replace(b"\x01", b"\x02"))


def fuzzed(examples: int) -> Any:
    """hypothesis settings for a CI run: repeatable (derandomized, no example database)."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


class Session:
    def __init__(self, deployment: Deployment, sender: str, begin: str) -> None:
        self.client = RawFixClient(deployment.client_port, sender=sender, begin_string=begin)
        user = sender.lower()
        extra = [(1137, "9")] if begin == "FIXT.1.1" else []
        self.client.logon(username=user, password=f"{user}-demo-pass", extra=extra)
        self.n = 0
        self.sent: list[bytes] = []
        self.session = f"{begin}:QTGW->{sender}"

    def exchange(self, msg_type: str, mutate: dict[int, bytes]) -> dict[int, str]:
        self.n += 1
        n = self.n
        body = []
        for tag, template in BODIES[msg_type]:
            value = template.format(n=n, now=timestamp())
            body.append((tag, mutate.get(tag, value.encode())))
        seq = self.client.seq
        frame = self.client.frame(msg_type, body)
        self.client.sock.sendall(frame)
        self.client.seq += 1
        self.sent.append(frame)
        ids = {v.decode("latin-1") for t, v in body if t in (11, 112)}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            msg = self.client.receive(deadline - time.monotonic())
            assert msg is not None, f"the gateway closed the session after {frame!r}"
            if msg[35] == "0" and 112 not in msg:
                continue  # a heartbeat of its own
            if msg.get(45) == str(seq) or msg.get(11) in ids or msg.get(112) in ids:
                return msg
            if msg[35] in ALLOWED:
                check_tags(msg)  # an answer to an earlier message (fills): still checked
        raise AssertionError(f"no answer to {frame!r}")


def check_tags(msg: dict[int, str]) -> None:
    extra = set(msg) - HEADER - ALLOWED[msg[35]]
    assert not extra, f"tags the gateway did not set: {sorted(extra)} in {msg}"


@pytest.fixture(params=[("CLIENT1", "FIX.4.4"), ("CLIENT2", "FIXT.1.1")], ids=["fix44", "fixt"])
def session(request: pytest.FixtureRequest, deployment: Deployment) -> Iterator[Session]:
    s = Session(deployment, *request.param)
    yield s
    s.client.close()
    time.sleep(0.3)


def test_arbitrary_bytes_in_any_field_are_answered_journaled_and_never_injected(
    session: Session, deployment: Deployment
) -> None:
    @fuzzed(EXAMPLES)
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        msg_type = data.draw(st.sampled_from(sorted(BODIES)))
        tags = [t for t, _ in BODIES[msg_type]]
        chosen = data.draw(st.sets(st.sampled_from(tags), max_size=3))
        mutate = {t: data.draw(VALUES) for t in chosen}
        answer = session.exchange(msg_type, mutate)
        assert answer[35] in ALLOWED, answer
        check_tags(answer)

    one()
    assert deployment.gateway is not None and deployment.gateway.poll() is None
    assert deployment.health() is not None
    # Every frame is in the journal exactly as it was sent.
    time.sleep(0.5)
    journaled = {wire_bytes(r.payload) for r in deployment.journal("fix.in", session.session)}
    missing = [f for f in session.sent if f not in journaled]
    assert not missing, f"{len(missing)} of {len(session.sent)} frames not journaled: {missing[:3]}"


# -- data fields: the length is the sender's word, the data any bytes (SOH included) --------

DATA_FIELDS = {  # (length tag, data tag): the message that carries it, and where
    (354, 355): ("D", "body"),  # EncodedTextLen / EncodedText
    (212, 213): ("1", "header"),  # XmlDataLen / XmlData
    (93, 89): ("1", "trailer"),  # SignatureLength / Signature
}
DATA = st.binary(max_size=40)
LENGTHS = st.one_of(
    st.integers(-3, 3),
    st.integers(2**31 - 3, 2**31 + 3),
    st.sampled_from(["", "abc", "+3", "-0", "007", "99999999999", " 4", "4 "]),
)


def exchange_data(session: Session, pair: tuple[int, int], length: str, data: bytes) -> None:
    """Send one message carrying a data field, then a TestRequest behind it. The message
    is either well formed (answered) or garbled (ignored without using up its sequence
    number: the TestRequest then comes too early and the gateway asks for a resend, which
    is answered with a gap fill, as a FIX client does). Either way the TestRequest gets its
    Heartbeat, every answer carries only tags the gateway set, and the session lives."""
    client = session.client
    session.n += 1
    n = session.n
    msg_type, where = DATA_FIELDS[pair]
    fields = [(pair[0], length.encode()), (pair[1], data)]
    if msg_type == "D":
        body = [(t, v.format(n=n, now=timestamp()).encode()) for t, v in BODIES["D"]] + fields
        frame = client.frame("D", body)
    elif where == "header":
        frame = client.frame("1", [(112, f"DH-{n}")], header=fields)  # type: ignore[arg-type]
    else:
        frame = client.frame("1", [(112, f"DT-{n}"), *fields])
    probe_id = f"P-{n}"
    probe = client.frame("1", [(112, probe_id)], seq=client.seq + 1)
    client.sock.sendall(frame + probe)
    client.seq += 2
    session.sent.append(frame)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        msg = client.receive(deadline - time.monotonic())
        assert msg is not None, f"the gateway closed the session after {frame!r}"
        if msg[35] == "2":  # the garbled one was ignored: fill the gap it left
            # A data field whose length is right is never garbled.
            assert length != str(len(data)), f"a well-formed data field was refused: {frame!r}"
            gap_fill = client.frame(
                "4",
                [(123, "Y"), (36, str(client.seq - 1))],  # up to the TestRequest, queued
                seq=int(msg[7]),
                header=[(43, "Y"), (122, timestamp())],
            )
            client.sock.sendall(gap_fill)
            continue
        if msg[35] == "0" and msg.get(112) == probe_id:
            return
        if msg[35] == "0" and 112 not in msg:
            continue
        assert msg[35] in ALLOWED, msg
        check_tags(msg)
    raise AssertionError(f"no Heartbeat for the TestRequest behind {frame!r}")


def test_data_fields_of_any_length_and_content_never_crash_or_smuggle(
    session: Session, deployment: Deployment
) -> None:
    @fuzzed(EXAMPLES // 2)
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        pair = data.draw(st.sampled_from(sorted(DATA_FIELDS)))
        value = data.draw(DATA)
        length = data.draw(
            st.one_of(st.just(str(len(value))), LENGTHS.map(str), st.just(str(len(value) + 1)))
        )
        exchange_data(session, pair, length, value)

    one()
    assert deployment.gateway is not None and deployment.gateway.poll() is None
    assert deployment.health() is not None
    time.sleep(0.5)
    journaled = {wire_bytes(r.payload) for r in deployment.journal("fix.in", session.session)}
    missing = [f for f in session.sent if f not in journaled]
    assert not missing, f"{len(missing)} of {len(session.sent)} frames not journaled: {missing[:3]}"
