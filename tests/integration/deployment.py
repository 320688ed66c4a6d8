"""A whole qtinfra deployment for tests: venue simulator processes, the gateway process and
buy-side QuickFIX clients, on free loopback ports, with a database of the test's choosing.

Everything runs as it does in production (`qtinfra venue`, `qtinfra run --no-venues`), so
the tests talk FIX over real sockets to real processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from qtinfra.config import PROJECT_ROOT
from qtinfra.fix.buyside import BuySideClient, ClientSessionConfig
from tests.helpers import free_port, shipped_config, wait_until

CONFIG = PROJECT_ROOT / "config"
PASSWORDS = {
    "CLIENT1": ("client1", "client1-demo-pass"),
    "CLIENT2": ("client2", "client2-demo-pass"),
}


@dataclass
class Deployment:
    root: Path
    database_url: str
    client_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    venue_ports: dict[str, int] = field(default_factory=dict)
    venues: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    gateway: subprocess.Popen[bytes] | None = None
    clients: list[BuySideClient] = field(default_factory=list)
    gateway_settings: dict[str, str] = field(default_factory=dict)
    extra_clients_toml: str = ""
    extra_sessions: str = ""
    extra_risk_toml: str = ""
    files: dict[str, str] = field(default_factory=dict)
    """Config files to write instead of the project's (name -> content)."""
    gateway_env: dict[str, str] = field(default_factory=dict)
    """Extra environment of the next gateway start (QTINFRA_FAULT...)."""
    start_timeout: float = 30.0
    """Seconds the gateway may take to answer /health after it is started (QuickFIX copies
    a session's data dictionaries for each session: many sessions start slower)."""

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def var_dir(self) -> Path:
        return self.root / "var"

    def write_config(self, venue_latency_ms: float = 0.0) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        for name in (
            "instruments.toml",
            "calendars.toml",
            "accounts.toml",
            "positions.toml",
            "risk.toml",
        ):
            text = self.files.get(name) or shipped_config(name)
            if name == "risk.toml":
                text += self.extra_risk_toml
            (self.config_dir / name).write_text(text)
        (self.config_dir / "clients.toml").write_text(
            (CONFIG / "clients.toml").read_text() + self.extra_clients_toml
        )
        venues = (CONFIG / "venues.toml").read_text()

        def port_for(match: re.Match[str]) -> str:
            return f"port = {self.venue_ports.setdefault(str(len(self.venue_ports)), free_port())}"

        venues = re.sub(r"port = \d+", port_for, venues)
        venues = re.sub(r"latency_ms = [\d.]+", f"latency_ms = {venue_latency_ms}", venues)
        names = re.findall(r'name = "(\w+)"', venues)
        self.venue_ports = {n: self.venue_ports[str(i)] for i, n in enumerate(names)}
        (self.config_dir / "venues.toml").write_text(venues)
        sessions = (PROJECT_ROOT / "sessions" / "clients.cfg").read_text()
        sessions = re.sub(r"SocketAcceptPort=\d+", f"SocketAcceptPort={self.client_port}", sessions)
        (self.root / "clients.cfg").write_text(sessions + self.extra_sessions)
        (self.config_dir / "gateway.toml").write_text(
            "[gateway]\n"
            f'client_sessions = "{self.root / "clients.cfg"}"\n'
            f'database_url = "{self.database_url}"\n'
            f'var_dir = "{self.var_dir}"\n'
            f"http_port = {self.http_port}\n"
            "start_venues = false\n"
            + "".join(f"{k} = {v}\n" for k, v in self.gateway_settings.items())
        )

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("QTINFRA_DATABASE_URL", None)
        return env

    def _log(self, name: str) -> Any:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        return (self.var_dir / f"{name}.log").open("ab")

    def start_venue(self, name: str) -> None:
        cmd = [
            sys.executable,
            "-m",
            "qtinfra.cli",
            "--config-dir",
            str(self.config_dir),
            "venue",
            name,
        ]
        log = self._log(f"venue-{name}")
        self.venues[name] = subprocess.Popen(cmd, stdout=log, stderr=log, env=self._env())

    def stop_venue(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.venues.pop(name)
        proc.send_signal(sig)
        proc.wait(10)

    def start_gateway(self, wait_venues: bool = True) -> None:
        cmd = [
            sys.executable,
            "-m",
            "qtinfra.cli",
            "--config-dir",
            str(self.config_dir),
            "run",
            "--no-venues",
        ]
        log = self._log("gateway")
        env = {**self._env(), **self.gateway_env}
        self.gateway = subprocess.Popen(cmd, stdout=log, stderr=log, env=env)
        assert wait_until(lambda: self.health() is not None, self.start_timeout), self.gateway_log()
        if wait_venues:
            assert wait_until(self.venues_ready, timeout=30), self.sessions()

    def kill_gateway(self, sig: int = signal.SIGKILL) -> int:
        assert self.gateway is not None
        self.gateway.send_signal(sig)
        code = self.gateway.wait(30)
        self.gateway = None
        return code

    def gateway_log(self) -> str:
        path = self.var_dir / "gateway.log"
        return path.read_text()[-5000:] if path.exists() else ""

    def _get(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=2) as r:
                return json.load(r)
        except OSError:
            return None

    def post(self, path: str, body: bytes) -> tuple[int, Any]:
        """POST body to an operator control endpoint with the gateway's operator token:
        (HTTP status, the JSON answer)."""
        token = (self.var_dir / "run" / "ops.token").read_text().strip()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}{path}",
            body,
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def health(self) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._get("/health")
        return result

    def sessions(self) -> list[dict[str, Any]]:
        return self._get("/sessions") or []

    def venues_ready(self) -> bool:
        rows = [r for r in self.sessions() if r["kind"] == "venue"]
        running = set(self.venues)
        up = {r["session"].rsplit(">", 1)[1] for r in rows if r["logged_on"]}
        return bool(rows) and running <= up

    def client(
        self,
        comp_id: str = "CLIENT1",
        *,
        password: str | None = None,
        username: str | None = None,
        reset: bool = True,
        wait: bool = True,
        begin_string: str | None = None,
    ) -> BuySideClient:
        user, pw = PASSWORDS.get(comp_id, (comp_id.lower(), "x"))
        begin = begin_string or ("FIXT.1.1" if comp_id == "CLIENT2" else "FIX.4.4")
        cfg = ClientSessionConfig(
            sender_comp_id=comp_id,
            port=self.client_port,
            begin_string=begin,
            username=(username or None) if username is not None else user,
            # "" means: send no Password (554) at all.
            password=(password or None) if password is not None else pw,
            data_dictionary=PROJECT_ROOT
            / "fix_specs"
            / ("FIX50SP2.xml" if begin == "FIXT.1.1" else "FIX44.xml"),
            transport_dictionary=PROJECT_ROOT / "fix_specs" / "FIXT11.xml",
            store_dir=self.root / "clients" / f"{comp_id}-{len(self.clients)}",
            reset_on_logon=reset,
        )
        client = BuySideClient(cfg)
        self.clients.append(client)
        started = client.start(wait=15 if wait else None)
        assert started or not wait, f"{comp_id} could not log on\n{self.gateway_log()}"
        return client

    def db(self) -> Any:
        return create_engine(self.database_url)

    def journal(self, kind: str | None = None, session: str | None = None) -> list[Any]:
        engine = self.db()
        try:
            sql = "SELECT seq, ts, kind, session, order_id, payload FROM journal WHERE 1=1"
            params: dict[str, str] = {}
            if kind:
                sql += " AND kind = :kind"
                params["kind"] = kind
            if session:
                sql += " AND session = :session"
                params["session"] = session
            with engine.connect() as conn:
                return list(conn.execute(text(sql + " ORDER BY seq"), params))
        finally:
            engine.dispose()

    def stop(self) -> None:
        for client in self.clients:
            client.stop()
        self.clients.clear()
        if self.gateway is not None:
            self.gateway.send_signal(signal.SIGTERM)
            try:
                self.gateway.wait(20)
            except subprocess.TimeoutExpired:
                self.gateway.kill()
            self.gateway = None
        for name in list(self.venues):
            proc = self.venues.pop(name)
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def deploy(
    root: Path,
    database_url: str,
    venues: tuple[str, ...] = ("CBOE", "TRQ", "AQX"),
    **options: Any,
) -> Iterator[Deployment]:
    """Start venues and the gateway; stop everything afterwards."""
    d = Deployment(root=root, database_url=database_url, **options)
    d.write_config()
    try:
        for name in venues:
            d.start_venue(name)
        d.start_gateway()
        yield d
    finally:
        d.stop()


def wait_done(client: BuySideClient, cl_ord_id: str, timeout: float = 10.0) -> list[dict[int, str]]:
    """Every message about cl_ord_id until the order is done (OrdStatus 2, 4, 8, C)."""
    seen: list[dict[int, str]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = client.next_message(deadline - time.monotonic())
        if msg.get(11) == cl_ord_id or msg.get(41) == cl_ord_id:
            seen.append(msg)
            if msg.get(39) in ("2", "4", "8", "C"):
                return seen
    raise TimeoutError(f"order {cl_ord_id} not done; saw {seen}")


deployed = contextlib.contextmanager(deploy)
"""deploy() as a context manager: `with deployed(root, url) as d: ...`."""

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]
"""Fixture params for a deployment on each database (see `database_for`)."""


@contextlib.contextmanager
def database_for(request: pytest.FixtureRequest, root: Path) -> Iterator[str]:
    """The database URL of a fixture parametrised with DATABASES: an SQLite file under
    root, or a fresh PostgreSQL database on the test server, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{root / 'qtinfra.db'}"
        return
    server: URL = request.getfixturevalue("pg_server_url")
    name = f"qtinfra_it_{uuid.uuid4().hex[:12]}"
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
