"""The test deployment: qtinfra.tools.deployment's venues and gateway (the benchmark runs
on the same), plus buy-side QuickFIX clients and a look into the database.

Everything runs as it does in production (`qtinfra venue`, `qtinfra run --no-venues`), so
the tests talk FIX over real sockets to real processes.
"""

from __future__ import annotations

import contextlib
import time
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
from qtinfra.tools.buyside import BuySideClient, ClientSessionConfig
from qtinfra.tools.deployment import LocalDeployment
from tests.helpers import shipped_config

PASSWORDS = {
    "CLIENT1": ("client1", "client1-demo-pass"),
    "CLIENT2": ("client2", "client2-demo-pass"),
}


@dataclass
class Deployment(LocalDeployment):
    """Config from the committed files (tests.helpers.shipped_config), and clients."""

    config_text: Any = shipped_config
    clients: list[BuySideClient] = field(default_factory=list)

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
        super().stop()


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
