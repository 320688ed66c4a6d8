"""The operations endpoint's server under connections that never finish their request:
slots are bounded, a request must be read within the request timeout however steadily it
trickles, and a newcomer takes the slot of the oldest unfinished request, so an operator
is never locked out. A real server on a loopback port; nothing else of the gateway."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from qtinfra.ops import http


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[http.OpsServer]:
    monkeypatch.setattr(http, "REQUEST_TIMEOUT", 1.0)
    ops = http.OpsServer("127.0.0.1", 0, sessions=list, health=lambda: {"status": "ok"})
    ops.start()
    yield ops
    ops.stop()


def _health(port: int) -> float:
    """Seconds until GET /health is answered 200."""
    start = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
        assert answer.status == 200 and json.load(answer) == {"status": "ok"}
    return time.monotonic() - start


def _trickle(port: int, stop: threading.Event, opened: list[int]) -> None:
    """A slowloris: one byte of a request line every 0.1 s, a new connection whenever the
    server ends one."""
    while not stop.is_set():
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)) as c:
            opened.append(1)
            for byte in b"GET /health HTTP/1.1\r\nX-Slow: " + b"a" * 10_000:
                if stop.wait(0.1):
                    return
                c.sendall(bytes([byte]))


def test_trickling_connections_filling_every_slot_do_not_lock_out_a_request(
    server: http.OpsServer,
) -> None:
    stop = threading.Event()
    opened: list[int] = []
    attackers = [
        threading.Thread(target=_trickle, args=(server.port, stop, opened), daemon=True)
        for _ in range(http.MAX_CONNECTIONS + 16)
    ]
    for t in attackers:
        t.start()
    try:
        time.sleep(0.5)
        waits = [_health(server.port) for _ in range(10)]
        assert max(waits) < 1.0, waits
        time.sleep(1.5)  # past the request timeout: every trickler was cut at least once
        assert len(opened) > len(attackers)
    finally:
        stop.set()
        for t in attackers:
            t.join(5)


def test_a_request_trickled_for_longer_than_the_timeout_is_cut(server: http.OpsServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        start = time.monotonic()
        with contextlib.suppress(OSError):
            for _ in range(40):  # 4 s of one byte every 0.1 s, never a whole request
                conn.sendall(b"G")
                time.sleep(0.1)
        assert conn.recv(100) == b""
        assert time.monotonic() - start < 2.5  # cut at about 1 s, not when it stopped


def test_requests_being_served_are_never_cut_for_a_newcomer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http, "REQUEST_TIMEOUT", 1.0)
    monkeypatch.setattr(http, "MAX_CONNECTIONS", 2)
    release = threading.Event()

    def slow_health() -> dict[str, str]:
        release.wait(5)
        return {"status": "ok"}

    ops = http.OpsServer("127.0.0.1", 0, sessions=list, health=slow_health)
    ops.start()
    results: list[float] = []
    try:
        served = [
            threading.Thread(target=lambda: results.append(_health(ops.port))) for _ in range(2)
        ]
        for t in served:
            t.start()
        time.sleep(0.3)  # both read and waiting on the gateway
        with socket.create_connection(("127.0.0.1", ops.port), timeout=5) as late:
            late.sendall(b"GET /health HTTP/1.0\r\n\r\n")
            try:
                refused = late.recv(100) == b""
            except ConnectionResetError:
                refused = True
            assert refused  # no slot can be taken from requests being served
        release.set()
        for t in served:
            t.join(5)
        assert len(results) == 2  # both answered 200
    finally:
        release.set()
        ops.stop()
