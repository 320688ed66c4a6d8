"""Fixtures for tests that run whole deployments (venues + gateway processes)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL

from qtinfra.tools.buyside import BuySideClient
from tests.integration.deployment import Deployment, deploy


def _create_database(server: URL) -> tuple[str, str]:
    name = f"qtinfra_it_{uuid.uuid4().hex[:12]}"
    conninfo = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, server.set(database=name).render_as_string(hide_password=False)


def _drop_database(server: URL, name: str) -> None:
    conninfo = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def deploy_on(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    **options: Any,
) -> Iterator[Deployment]:
    """Three venues and the gateway on the database request.param names ("sqlite", or
    "postgresql": a database of its own on the test server, dropped afterwards)."""
    root = tmp_path_factory.mktemp(f"deploy-{request.param}")
    if request.param == "sqlite":
        yield from deploy(root, f"sqlite:///{root / 'qtinfra.db'}", **options)
        return
    server: URL = request.getfixturevalue("pg_server_url")
    name, url = _create_database(server)
    try:
        yield from deploy(root, url, **options)
    finally:
        _drop_database(server, name)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Three venues and the gateway, on SQLite and on PostgreSQL (one module run each)."""
    yield from deploy_on(request, tmp_path_factory)


@pytest.fixture
def client(deployment: Deployment) -> Iterator[BuySideClient]:
    """CLIENT1 (FIX.4.4), logged on with its password, fresh sequence numbers."""
    c = deployment.client("CLIENT1")
    yield c
    c.stop()
    deployment.clients.remove(c)


@pytest.fixture
def fresh_deployment(tmp_path: Path) -> Iterator[Deployment]:
    """A deployment of the test's own (for tests that kill processes), on SQLite."""
    yield from deploy(tmp_path, f"sqlite:///{tmp_path / 'qtinfra.db'}")


@pytest.fixture
def fresh_pg_deployment(tmp_path: Path, pg_url: str) -> Iterator[Deployment]:
    """A deployment of the test's own on PostgreSQL."""
    yield from deploy(tmp_path, pg_url)
