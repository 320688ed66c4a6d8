"""Fixtures shared by all tests. Plain helpers are in tests/helpers.py.

PostgreSQL: `make test` starts a local server and exports QTINFRA_TEST_PG_URL (a role with
CREATEDB); each test that asks for `pg_url` gets a database of its own, dropped afterwards.
Without QTINFRA_TEST_PG_URL those tests are skipped locally, and fail when CI=true, so CI
never passes with the PostgreSQL tests silently not run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL, make_url

PG_URL_ENV = "QTINFRA_TEST_PG_URL"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _libpq_conninfo(url: URL) -> str:
    """The SQLAlchemy URL as a libpq URI psycopg accepts (no +driver)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _admin_connection(url: URL) -> psycopg.Connection[tuple[object, ...]]:
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    return psycopg.connect(_libpq_conninfo(url), autocommit=True, connect_timeout=10)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the PostgreSQL fixtures `postgres` (select with -m)."""
    for item in items:
        if {"pg_url", "pg_server_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def pg_server_url() -> URL:
    """The URL of the test server's maintenance database, from QTINFRA_TEST_PG_URL.

    Its role must have CREATEDB. Skips when unset (fails when CI=true); fails when the
    server does not answer.
    """
    raw = os.environ.get(PG_URL_ENV, "").strip()
    if not raw:
        msg = (
            f"{PG_URL_ENV} is not set, so the PostgreSQL tests cannot run. `make test` sets "
            "it and starts a local server (scripts/test-postgres.sh)."
        )
        if in_ci():
            pytest.fail(f"CI=true: {msg}", pytrace=False)
        pytest.skip(msg)
    url = make_url(raw)
    if url.get_backend_name() != "postgresql":
        pytest.fail(f"{PG_URL_ENV} must be a postgresql URL, got {url!r}", pytrace=False)
    url = url.set(drivername="postgresql+psycopg")
    try:
        with _admin_connection(url) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.fail(
            f"cannot connect to the test PostgreSQL {PG_URL_ENV}={url!r}: {exc}".strip()
            + "\n(`make test` starts it with scripts/test-postgres.sh)",
            pytrace=False,
        )
    return url


@pytest.fixture
def pg_url(pg_server_url: URL) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test: its SQLAlchemy URL
    (postgresql+psycopg://...). Dropped after the test, even if connections are left open.
    """
    name = f"qtinfra_test_{uuid.uuid4().hex[:16]}"
    with _admin_connection(pg_server_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield pg_server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with _admin_connection(pg_server_url) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLAlchemy URL for a new SQLite file in this test's tmp_path."""
    return f"sqlite:///{tmp_path / 'qtinfra.db'}"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh database URL; a test using it runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("pg_url")
    return url
