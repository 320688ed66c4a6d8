"""The operations endpoint: /metrics (Prometheus), /sessions, /health and /risk (JSON), and
the operator controls: POST /risk/state (kill switch) and POST /risk/reload (limits).

The controls need the operator token (`Authorization: Bearer <token>`), which the gateway
writes to var/run/ops.token readable only by its own user; the `qtinfra kill`, `resume` and
`limits` commands read it from there."""

from __future__ import annotations

import contextlib
import hmac
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from qtinfra.errors import ConfigError
from qtinfra.ops.metrics import REGISTRY
from qtinfra.risk.engine import Scope, TradingState

log = structlog.get_logger(__name__)


class Control(Protocol):
    """What the operator endpoints ask of the gateway."""

    def set_trading_state(
        self, scope: Any, target: str, state: Any, reason: str, actor: str
    ) -> dict[str, Any]: ...

    def reload_limits(self, reason: str, actor: str) -> dict[str, Any]: ...

    def risk_status(self) -> dict[str, Any]: ...


class OpsServer:
    """Serves the endpoints on a background thread."""

    def __init__(
        self,
        host: str,
        port: int,
        sessions: Callable[[], list[dict[str, Any]]],
        health: Callable[[], dict[str, Any]],
        control: Control | None = None,
        token: str | None = None,
    ) -> None:
        routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
            "/metrics": lambda: (200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY)),
            "/sessions": lambda: (200, "application/json", json.dumps(sessions()).encode()),
            "/health": lambda: _health(health()),
        }
        posts: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        if control is not None:
            routes["/risk"] = lambda: _json(200, control.risk_status())
            posts["/risk/state"] = lambda body: _set_state(control, body)
            posts["/risk/reload"] = lambda body: control.reload_limits(
                _text(body, "reason"), _text(body, "actor")
            )

        class Handler(BaseHTTPRequestHandler):
            # A connection that sends nothing, or a request that never completes (a body
            # shorter than its Content-Length), is closed after this many seconds, so idle
            # or partial requests cannot hold the endpoint's threads.
            timeout = REQUEST_TIMEOUT

            def do_GET(self) -> None:
                self._read()
                route = routes.get(self.path.split("?", 1)[0])
                if route is None:
                    status, ctype, body = 404, "text/plain", b"not found\n"
                else:
                    try:
                        status, ctype, body = route()
                    except TimeoutError as exc:
                        status, ctype, body = (
                            503,
                            "application/json",
                            json.dumps({"error": str(exc)}).encode(),
                        )
                    except Exception as exc:
                        log.exception("ops_request_failed", path=self.path)
                        status, ctype, body = 500, "text/plain", f"{exc}\n".encode()
                self._answer(status, ctype, body)

            def do_POST(self) -> None:
                handler = posts.get(self.path.split("?", 1)[0])
                if handler is None:
                    self._answer(*_json(404, {"error": "not found"}))
                    return
                given = self.headers.get("Authorization", "")
                expected = f"Bearer {token}".encode()
                if not token or not hmac.compare_digest(
                    given.encode("latin-1", "replace"), expected
                ):
                    self._answer(*_json(401, {"error": "operator token required"}))
                    return
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    if self.headers.get("Transfer-Encoding"):
                        raise ValueError("send the body with a Content-Length")
                    if not 0 <= length <= MAX_BODY:
                        raise ValueError(f"Content-Length must be 0 to {MAX_BODY} bytes")
                    data = self.rfile.read(length)
                    if len(data) != length or not self._read():
                        # Cut (its deadline, or evicted) or ended early: never acted on.
                        self.close_connection = True
                        return
                    body = json.loads(data or b"{}")
                    if not isinstance(body, dict):
                        raise ValueError("the request body must be a JSON object")
                    result = handler(body)
                except (ValueError, KeyError, ConfigError, RecursionError) as exc:
                    # ValueError includes a JSON body that is not UTF-8 or holds a lone
                    # surrogate, and a Content-Length out of bounds.
                    # A bad request or a bad limits file: nothing changed.
                    self._answer(*_json(400, {"error": str(exc)}))
                    return
                except TimeoutError as exc:
                    self._answer(*_json(503, {"error": str(exc)}))
                    return
                except Exception as exc:
                    log.exception("ops_control_failed", path=self.path)
                    self._answer(*_json(500, {"error": str(exc)}))
                    return
                self._answer(*_json(200, result))

            def _read(self) -> bool:
                server = self.server
                assert isinstance(server, _BoundedServer)
                return server.request_read(self.connection)

            def _answer(self, status: int, ctype: str, body: bytes) -> None:
                self._read()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _BoundedServer((host, port), Handler)
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="ops-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _BoundedServer(ThreadingHTTPServer):
    """A thread per connection, at most MAX_CONNECTIONS at once, and a whole request to be
    read within REQUEST_TIMEOUT of connecting (a watchdog cuts a slower one, however
    steadily it trickles bytes). When every slot is taken, a new connection takes the slot
    of the connection that has been reading its request the longest, so idle, partial or
    trickling connections cannot lock an operator out of the kill switch; only when every
    slot is serving a request that was read is the newcomer closed. Each cut is logged."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._lock = threading.Condition()
        self._held = 0
        # Connections whose request is not read yet, by the monotonic time they came.
        self._reading: dict[Any, float] = {}
        # Connections cut whose handler thread has not finished yet.
        self._cut_requests: set[Any] = set()
        self._closed = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="ops-http-deadline", daemon=True)
        self._watchdog.start()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            if self._held >= MAX_CONNECTIONS and (self._reading or self._cut_requests):
                # Take the slot of the oldest unfinished request (or of one cut already,
                # whose thread is finishing).
                if self._reading:
                    self._cut(min(self._reading, key=self._reading.__getitem__), "evicted")
                self._lock.wait_for(lambda: self._held < MAX_CONNECTIONS, timeout=1.0)
            if self._held >= MAX_CONNECTIONS:
                log.warning(
                    "ops_connection_refused", peer=str(client_address[0]), limit=MAX_CONNECTIONS
                )
                self.shutdown_request(request)
                return
            self._held += 1
            self._reading[request] = time.monotonic()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(request)

    def request_read(self, request: Any) -> bool:
        """The handler has the whole request: from now on it is served, never cut. False
        when it was cut already (the handler then drops it)."""
        with self._lock:
            self._reading.pop(request, None)
            return request not in self._cut_requests

    def _release(self, request: Any) -> None:
        with self._lock:
            self._held -= 1
            self._reading.pop(request, None)
            self._cut_requests.discard(request)
            self._lock.notify_all()

    def _cut(self, request: Any, why: str) -> None:
        """Ends a connection still reading its request (its handler thread sees the end of
        the stream and finishes). Called with the lock held."""
        self._reading.pop(request, None)
        self._cut_requests.add(request)
        with contextlib.suppress(OSError):
            peer = request.getpeername()[0]
            log.warning("ops_connection_cut", peer=str(peer), reason=why)
        with contextlib.suppress(OSError):
            request.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # the peer went away, or its connection was cut
            log.info("ops_connection_lost", peer=str(client_address[0]), error=str(exc))
        else:
            log.exception("ops_request_crashed", peer=str(client_address[0]))

    def server_close(self) -> None:
        self._closed.set()
        super().server_close()

    def _watch(self) -> None:
        while not self._closed.wait(REQUEST_TIMEOUT / 10):
            deadline = time.monotonic() - REQUEST_TIMEOUT
            with self._lock:
                for request, since in list(self._reading.items()):
                    if since < deadline:
                        self._cut(request, "request not complete in time")


def _health(state: dict[str, Any]) -> tuple[int, str, bytes]:
    status = 200 if state.get("status") == "ok" else 503
    return status, "application/json", json.dumps(state).encode()


def _json(status: int, value: object) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(value).encode()


MAX_BODY = 64 * 1024
REQUEST_TIMEOUT = 5.0
MAX_CONNECTIONS = 64
TEXT_LIMIT = 256
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]")


def _text(body: dict[str, Any], key: str) -> str:
    """A text field of a request: printable ASCII (it may reach a client's Text (58) and
    is journaled), at most TEXT_LIMIT characters."""
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} is required")
    bad = _NOT_PRINTABLE.search(value)
    if bad is not None:
        raise ValueError(
            f"{key} must be printable ASCII; character {bad.start() + 1} is "
            f"U+{ord(bad.group()):04X}"
        )
    if len(value) > TEXT_LIMIT:
        raise ValueError(f"{key} is {len(value)} characters long; at most {TEXT_LIMIT}")
    return value.strip()


def _set_state(control: Control, body: dict[str, Any]) -> dict[str, Any]:
    try:
        scope = Scope(_text(body, "scope"))
        state = TradingState(_text(body, "state").upper())
    except ValueError:
        raise ValueError(
            "scope must be firm, session or client and state ACTIVE, REDUCING or HALTED"
        ) from None
    target = _text(body, "target") if body.get("target") else ""
    if scope is not Scope.FIRM and not target:
        raise ValueError(f"a {scope.value} scope needs a target")
    return control.set_trading_state(
        scope, target, state, _text(body, "reason"), _text(body, "actor")
    )
