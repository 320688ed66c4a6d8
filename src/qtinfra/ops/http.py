"""The operations endpoint: /metrics (Prometheus), /sessions and /health (JSON)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from qtinfra.ops.metrics import REGISTRY

log = structlog.get_logger(__name__)


class OpsServer:
    """Serves the endpoints on a background thread."""

    def __init__(
        self,
        host: str,
        port: int,
        sessions: Callable[[], list[dict[str, Any]]],
        health: Callable[[], dict[str, Any]],
    ) -> None:
        routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
            "/metrics": lambda: (200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY)),
            "/sessions": lambda: (200, "application/json", json.dumps(sessions()).encode()),
            "/health": lambda: _health(health()),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = routes.get(self.path.split("?", 1)[0])
                if route is None:
                    status, ctype, body = 404, "text/plain", b"not found\n"
                else:
                    try:
                        status, ctype, body = route()
                    except Exception as exc:
                        log.exception("ops_request_failed", path=self.path)
                        status, ctype, body = 500, "text/plain", f"{exc}\n".encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
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


def _health(state: dict[str, Any]) -> tuple[int, str, bytes]:
    status = 200 if state.get("status") == "ok" else 503
    return status, "application/json", json.dumps(state).encode()
