"""Fixtures for tests that run whole deployments (venues + gateway processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qtinfra.tools.buyside import BuySideClient
from tests.integration.deployment import DATABASES, Deployment, database_for, deploy


def deploy_on(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    **options: Any,
) -> Iterator[Deployment]:
    """Three venues and the gateway on the database request.param names (DATABASES)."""
    root = tmp_path_factory.mktemp(f"deploy-{request.param}")
    with database_for(request, root) as url:
        yield from deploy(root, url, **options)


@pytest.fixture(scope="module", params=DATABASES)
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
