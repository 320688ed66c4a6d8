"""Starting and stopping QuickFIX acceptors and initiators from qtinfra's configuration."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import quickfix as fix

from qtinfra.config import QtinfraConfig
from qtinfra.errors import ConfigError
from qtinfra.fix.settings import SettingsFile


def client_settings(config: QtinfraConfig, sessions_file: Path | None = None) -> SettingsFile:
    """The client acceptor sessions, paths resolved, IP allowlists from config/clients.toml."""
    settings = SettingsFile.parse(config.path(sessions_file or config.gateway.client_sessions))
    settings.resolve_paths(config.root, config.var_dir)
    clients = {c.comp_id: c for c in config.clients}
    for block in settings.sessions:
        comp_id = settings.effective(block).get("TargetCompID")
        client = clients.get(comp_id or "")
        if client is None:
            raise ConfigError(
                f"client session {comp_id} has no entry in config/clients.toml (credentials)"
            )
        if client.allowed_ips:
            block["AllowedRemoteAddresses"] = ",".join(client.allowed_ips)
    _apply_message_store(config, settings)
    return settings


def venue_initiator_settings(config: QtinfraConfig) -> SettingsFile:
    """The gateway's initiator sessions: the template's defaults, one session per venue."""
    settings = SettingsFile.parse(config.path(config.gateway.venue_sessions))
    settings.resolve_paths(config.root, config.var_dir)
    settings.default["SenderCompID"] = config.gateway.comp_id
    for venue in config.venues:
        session = {
            "TargetCompID": venue.name,
            "SocketConnectHost": venue.host,
            "SocketConnectPort": str(venue.port),
        }
        if venue.reset_on_logon:
            session["ResetOnLogon"] = "Y"
        settings.sessions.append(session)
    _apply_message_store(config, settings)
    return settings


def _apply_message_store(config: QtinfraConfig, settings: SettingsFile) -> None:
    if config.gateway.message_store != "postgresql":
        return
    url = urlsplit(config.database_url.replace("+psycopg", ""))
    if url.scheme != "postgresql":
        raise ConfigError("message_store = 'postgresql' needs a PostgreSQL database_url")
    settings.default.update(
        {
            "PostgreSQLStoreDatabase": url.path.lstrip("/"),
            "PostgreSQLStoreUser": unquote(url.username or ""),
            "PostgreSQLStorePassword": unquote(url.password or ""),
            "PostgreSQLStoreHost": url.hostname or "127.0.0.1",
            "PostgreSQLStorePort": str(url.port or 5432),
        }
    )


def store_factory(config: QtinfraConfig, settings: fix.SessionSettings) -> fix.MessageStoreFactory:
    if config.gateway.message_store == "postgresql":
        return fix.PostgreSQLStoreFactory(settings)
    return fix.FileStoreFactory(settings)


def load(settings: SettingsFile, path: Path) -> fix.SessionSettings:
    settings.write(path)
    return fix.SessionSettings(str(path))


def millisecond_sessions(settings: fix.SessionSettings) -> frozenset[str]:
    """The sessions whose timestamps carry milliseconds: TimeStampPrecision below 6 (the
    QuickFIX setting that also sets SendingTime's; QuickFIX's default is 3). A FIX 4.4
    counterparty that wants microseconds gets TimeStampPrecision=6 in its session block."""
    out = set()
    for session_id in settings.getSessions():
        block = settings.get(session_id)
        precision = block.getInt("TimeStampPrecision") if block.has("TimeStampPrecision") else 3
        if precision < 6:
            out.add(session_id.toString())
    return frozenset(out)
