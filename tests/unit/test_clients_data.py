"""Data-subject requests: export everything held on a client, refuse erasure while MiFID II
record keeping needs the data, and personal values sealed at rest but revealed in exports."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from qtinfra.config import PROJECT_ROOT, load_config
from qtinfra.ops.clients import ErasureRefused, erase_client, export_client, last_activity
from qtinfra.store.db import make_engine, migrate
from qtinfra.store.journal import JournalWriter
from qtinfra.store.privacy import seal_config_files
from tests.helpers import shipped_config

WHEN = datetime(2025, 6, 3, 10, 0, tzinfo=UTC)


@pytest.fixture
def setup(tmp_path: Path):  # type: ignore[no-untyped-def]
    config_dir = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config_dir)
    for name in ("accounts.toml", "people.toml"):
        (config_dir / name).write_text(shipped_config(name))
    # The default [privacy] data_key (var/keys under the project root): the key a sealed
    # copy of the project's config/ was sealed with, if it was.
    (config_dir / "gateway.toml").write_text(f'[gateway]\nvar_dir = "{tmp_path / "var"}"\n')
    config = load_config(config_dir)
    engine = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    migrate(engine)
    writer = JournalWriter(engine, lambda: WHEN, lambda exc: None)
    for account, order in (("ACC2", "O1"), ("ACC2", "O2"), ("ACC1", "O3")):
        writer.record(
            "ExecutionReport",
            json.dumps(
                {"order_id": order, "exec_type": "0", "account": account}, separators=(",", ":")
            ),
        )
    writer.write([])
    writer.close()
    yield config, engine
    engine.dispose()


def test_export_holds_the_record_sessions_limits_positions_and_order_events(setup) -> None:  # type: ignore[no-untyped-def]
    config, engine = setup
    sealed = seal_config_files(config)
    assert sealed > 0
    text = (config.config_dir / "accounts.toml").read_text()
    assert "Jane" not in text  # sealed at rest
    config = load_config(config.config_dir)
    data = export_client(config, engine, "ACC2")
    assert data["client_record"]["first_names"] == "Jane"  # revealed for the export
    assert data["sessions"] == ["CLIENT2"]
    assert [e["order_id"] for e in data["order_events"]] == ["O1", "O2"]
    assert data["risk_limits"]["max_order_quantity"] == "10000"
    assert {p["symbol"] for p in data["start_of_day_positions"]} >= {"AAPL"}


def test_erasure_is_refused_while_records_must_be_kept(setup) -> None:  # type: ignore[no-untyped-def]
    config, engine = setup
    assert last_activity(engine, "ACC2") == WHEN
    with pytest.raises(ErasureRefused, match="until 2030-06-03"):
        erase_client(config, engine, "ACC2", date(2026, 1, 1))
    # Five years on, a session still trading for it blocks the erasure instead.
    with pytest.raises(ErasureRefused, match="CLIENT2"):
        erase_client(config, engine, "ACC2", date(2030, 6, 4))
    assert last_activity(engine, "ACC9") is None
