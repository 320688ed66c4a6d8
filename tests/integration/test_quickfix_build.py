"""The installed quickfix was built with SSL and the PostgreSQL message store.

quickfix is built from source by the Makefile with -DHAVE_SSL=1 -DHAVE_POSTGRESQL=1. A build
without them still imports and still has SSLSocketAcceptor and PostgreSQLStoreFactory, but
as stubs that raise ConfigError("HAVE_... not enabled"); these tests then fail (never skip).
"""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import psycopg
import pytest
import quickfix as fix
from sqlalchemy.engine import make_url

from qtinfra.store.quickfix_sql import QUICKFIX_POSTGRESQL_TABLES
from tests.helpers import free_port, make_self_signed_cert, wait_until

pytestmark = pytest.mark.integration


def _not_compiled_in(exc: Exception, feature: str) -> None:
    if "not enabled" in str(exc):
        pytest.fail(
            f"quickfix was built without {feature} ({exc}); rebuild it: `make reinstall test`",
            pytrace=False,
        )


# --- PostgreSQL message store -----------------------------------------------------------


def _store_settings(tmp_path: Path, pg_url: str) -> fix.SessionSettings:
    url = make_url(pg_url)
    cfg = tmp_path / "store.cfg"
    cfg.write_text(
        "[DEFAULT]\n"
        "ConnectionType=acceptor\n"
        "SocketAcceptPort=9876\n"
        "StartTime=00:00:00\n"
        "EndTime=00:00:00\n"
        f"PostgreSQLStoreDatabase={url.database}\n"
        f"PostgreSQLStoreUser={url.username}\n"
        f"PostgreSQLStorePassword={url.password}\n"
        f"PostgreSQLStoreHost={url.host}\n"
        f"PostgreSQLStorePort={url.port or 5432}\n"
        "\n"
        "[SESSION]\n"
        "BeginString=FIX.4.4\n"
        "SenderCompID=QTGW\n"
        "TargetCompID=CLIENT1\n"
    )
    return fix.SessionSettings(str(cfg))


def test_postgresql_store_persists_sequence_numbers_and_messages(
    tmp_path: Path, pg_url: str
) -> None:
    conninfo = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(QUICKFIX_POSTGRESQL_TABLES)

    settings = _store_settings(tmp_path, pg_url)
    session_id = fix.SessionID("FIX.4.4", "QTGW", "CLIENT1")
    try:
        factory = fix.PostgreSQLStoreFactory(settings)
    except fix.ConfigError as exc:
        _not_compiled_in(exc, "HAVE_POSTGRESQL")
        raise

    store = factory.create(fix.UtcTimeStamp.now(), session_id)
    assert store.getNextSenderMsgSeqNum() == 1
    assert store.getNextTargetMsgSeqNum() == 1
    store.setNextSenderMsgSeqNum(42)
    store.setNextTargetMsgSeqNum(7)
    raw = "8=FIX.4.4\x019=5\x0135=0\x0110=000\x01"
    assert store.set(41, raw)
    factory.destroy(store)

    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT incoming_seqnum, outgoing_seqnum FROM sessions"
            " WHERE beginstring = 'FIX.4.4' AND sendercompid = 'QTGW'"
            " AND targetcompid = 'CLIENT1' AND session_qualifier = ''"
        ).fetchone()
        assert row == (7, 42)
        msgs = conn.execute("SELECT msgseqnum, message FROM messages").fetchall()
        assert msgs == [(41, raw)]

    # A new factory (another process, another gateway instance) reads the state back.
    factory2 = fix.PostgreSQLStoreFactory(settings)
    store2 = factory2.create(fix.UtcTimeStamp.now(), session_id)
    try:
        assert store2.getNextSenderMsgSeqNum() == 42
        assert store2.getNextTargetMsgSeqNum() == 7
    finally:
        factory2.destroy(store2)


# --- SSL acceptor and initiator ---------------------------------------------------------


class CountingApp(fix.Application):  # type: ignore[misc]
    """Counts logons and logouts; QuickFIX calls it on its own threads."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.logons = 0
        self.logouts = 0

    def onCreate(self, sessionID: fix.SessionID) -> None:
        pass

    def onLogon(self, sessionID: fix.SessionID) -> None:
        with self.lock:
            self.logons += 1

    def onLogout(self, sessionID: fix.SessionID) -> None:
        with self.lock:
            self.logouts += 1

    def toAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        pass

    def fromAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        pass

    def toApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        pass

    def fromApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        pass


def _settings(path: Path, text: str) -> fix.SessionSettings:
    path.write_text(text)
    return fix.SessionSettings(str(path))


@pytest.mark.timeout(60)
def test_ssl_acceptor_and_initiator_log_on(tmp_path: Path) -> None:
    cert, key = make_self_signed_cert(tmp_path / "tls")
    port = free_port()
    common = "StartTime=00:00:00\nEndTime=00:00:00\nUseDataDictionary=N\nSocketUseSSL=Y\n"
    acceptor_settings = _settings(
        tmp_path / "acceptor.cfg",
        "[DEFAULT]\nConnectionType=acceptor\n"
        f"SocketAcceptPort={port}\nSocketReuseAddress=Y\n{common}"
        f"ServerCertificateFile={cert}\nServerCertificateKeyFile={key}\n"
        "\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=QTGW\nTargetCompID=CLIENT1\n",
    )
    initiator_settings = _settings(
        tmp_path / "initiator.cfg",
        "[DEFAULT]\nConnectionType=initiator\n"
        f"SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\n"
        f"HeartBtInt=30\nReconnectInterval=1\n{common}"
        "\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=CLIENT1\nTargetCompID=QTGW\n",
    )

    acceptor_app = CountingApp()
    try:
        acceptor = fix.SSLSocketAcceptor(acceptor_app, fix.MemoryStoreFactory(), acceptor_settings)
    except fix.ConfigError as exc:
        _not_compiled_in(exc, "HAVE_SSL")
        raise
    acceptor.start()
    try:
        # The port speaks TLS with our certificate (checked by Python's own ssl module).
        context = ssl.create_default_context(cafile=str(cert))
        assert wait_until(lambda: _can_connect(port), timeout=10), "acceptor never listened"
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw_sock,
            context.wrap_socket(raw_sock, server_hostname="localhost") as tls,
        ):
            assert tls.version() in {"TLSv1.2", "TLSv1.3"}
            assert tls.getpeercert()["subject"] == ((("commonName", "localhost"),),)

        # A QuickFIX SSL initiator logs on to it.
        initiator_app = CountingApp()
        initiator = fix.SSLSocketInitiator(
            initiator_app, fix.MemoryStoreFactory(), initiator_settings
        )
        initiator.start()
        try:
            logged_on = wait_until(
                lambda: acceptor_app.logons >= 1 and initiator_app.logons >= 1, timeout=20
            )
            assert logged_on, (
                f"no logon over TLS: acceptor saw {acceptor_app.logons}, "
                f"initiator {initiator_app.logons}"
            )
            assert acceptor.isLoggedOn()
            assert initiator.isLoggedOn()
        finally:
            initiator.stop()
        assert wait_until(lambda: acceptor_app.logouts >= 1, timeout=10)
    finally:
        acceptor.stop()
    assert acceptor.isStopped()


def _can_connect(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
