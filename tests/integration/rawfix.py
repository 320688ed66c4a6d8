"""A FIX client written by hand on a raw socket (not QuickFIX), so a test can send exactly
the bytes it wants: wrong checksums, fields out of order, bytes that are not ASCII."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta

SOH = "\x01"
Value = str | bytes


def timestamp(offset: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + offset).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


class RawFixClient:
    """Frames, sends and reads FIX 4.4 messages itself."""

    def __init__(
        self,
        port: int,
        sender: Value = "CLIENT1",
        target: str = "QTGW",
        begin_string: str = "FIX.4.4",
    ) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sender, self.target = sender, target
        self.begin_string = f"8={begin_string}"
        self.seq = 1
        self.buffer = b""

    def frame(
        self,
        msg_type: str,
        fields: list[tuple[int, Value]],
        seq: int | None = None,
        header: list[tuple[int, str]] | None = None,
        sending_time: str | None = None,
        checksum_delta: int = 0,
    ) -> bytes:
        number = self.seq if seq is None else seq
        head = [
            (35, msg_type),
            (49, self.sender),
            (56, self.target),
            (34, str(number)),
            (52, sending_time or timestamp()),
            *(header or []),
        ]
        body = b"".join(
            f"{t}=".encode() + (v if isinstance(v, bytes) else v.encode()) + b"\x01"
            for t, v in [*head, *fields]
        )
        text = f"{self.begin_string}{SOH}9={len(body)}{SOH}".encode() + body
        checksum = (sum(text) + checksum_delta) % 256
        return text + f"10={checksum:03d}{SOH}".encode()

    def send(
        self, msg_type: str, fields: list[tuple[int, Value]] | None = None, **kw: object
    ) -> None:
        self.sock.sendall(self.frame(msg_type, fields or [], **kw))  # type: ignore[arg-type]
        if kw.get("seq") is None:
            self.seq += 1

    def receive(self, timeout: float = 10.0) -> dict[int, str] | None:
        """The next message as fields by tag, or None when the gateway closed the socket."""
        deadline = time.monotonic() + timeout
        while True:
            end = self.buffer.find(b"\x0110=")
            if end >= 0:
                stop = self.buffer.find(b"\x01", end + 4)
                if stop >= 0:
                    raw, self.buffer = self.buffer[: stop + 1], self.buffer[stop + 1 :]
                    return {
                        int(t): v
                        for t, _, v in (
                            p.partition("=")
                            for p in raw.decode("utf-8", "surrogateescape").split(SOH)
                            if p
                        )
                    }
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk

    def expect(self, msg_type: str, timeout: float = 10.0) -> dict[int, str]:
        """Skip heartbeats until a message of msg_type arrives."""
        while True:
            msg = self.receive(timeout)
            assert msg is not None, f"connection closed while waiting for 35={msg_type}"
            if msg[35] == msg_type:
                return msg
            assert msg[35] == "0", f"expected 35={msg_type}, got {msg}"

    def logon(
        self,
        heartbeat: int = 30,
        username: Value = "client1",
        password: Value = "client1-demo-pass",
        extra: list[tuple[int, Value]] | None = None,
    ) -> dict[int, str]:
        self.send(
            "A",
            [
                (98, "0"),
                (108, str(heartbeat)),
                (141, "Y"),
                (553, username),
                (554, password),
                *(extra or []),
            ],
        )
        return self.expect("A")

    def closed(self, timeout: float = 10.0) -> bool:
        try:
            while (msg := self.receive(timeout)) is not None:
                if msg[35] not in ("0", "5", "3"):
                    return False
            return True
        except (TimeoutError, ConnectionResetError):
            return False

    def close(self) -> None:
        self.sock.close()
