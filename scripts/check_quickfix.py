"""Exit 0 when the installed quickfix has SSL and the PostgreSQL store compiled in.

Used by the Makefile before and after building quickfix. A quickfix built without
-DHAVE_SSL / -DHAVE_POSTGRESQL still has SSLSocketAcceptor and PostgreSQLStoreFactory,
but as stubs (swig/SSLStubs.h, swig/PostgreSQLStubs.h in the quickfix sdist) whose
constructors throw ConfigError("HAVE_SSL not enabled") / ("HAVE_POSTGRESQL not enabled").
A build compiled with the flags but not linked to libssl/libpq fails to import
(undefined symbol). Nothing here opens a socket or a database connection.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def main() -> int:
    try:
        import quickfix as fix
    except ImportError as exc:
        print(f"check_quickfix: quickfix is not importable: {exc}")
        return 1

    problems: list[str] = []

    # The real factory only stores the dictionary; it connects in create().
    try:
        fix.PostgreSQLStoreFactory(fix.Dictionary())
    except Exception as exc:
        problems.append(f"PostgreSQLStoreFactory: {exc}")

    # The stub acceptor first runs Acceptor's constructor (which needs one session), then
    # throws; the real one only stores its settings (SSL is set up in start()).
    class _App(fix.Application):  # type: ignore[misc]
        def onCreate(self, sessionID):
            pass

        def onLogon(self, sessionID):
            pass

        def onLogout(self, sessionID):
            pass

        def toAdmin(self, message, sessionID):
            pass

        def fromAdmin(self, message, sessionID):
            pass

        def toApp(self, message, sessionID):
            pass

        def fromApp(self, message, sessionID):
            pass

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "check.cfg"
        cfg.write_text(
            "[DEFAULT]\n"
            "ConnectionType=acceptor\n"
            "SocketAcceptPort=65000\n"
            "StartTime=00:00:00\n"
            "EndTime=00:00:00\n"
            "UseDataDictionary=N\n"
            "SocketUseSSL=Y\n"
            "\n"
            "[SESSION]\n"
            "BeginString=FIX.4.4\n"
            "SenderCompID=QFCHECK\n"
            "TargetCompID=QFCHECK2\n"
        )
        app = _App()
        try:
            fix.SSLSocketAcceptor(app, fix.MemoryStoreFactory(), fix.SessionSettings(str(cfg)))
        except Exception as exc:
            problems.append(f"SSLSocketAcceptor: {exc}")

    where = getattr(fix, "__file__", "?")
    if problems:
        print(f"check_quickfix: {where} lacks compiled-in features:")
        for p in problems:
            print(f"  - {p}")
        return 1
    print(f"check_quickfix: {where}: SSL and PostgreSQL store compiled in")
    return 0


if __name__ == "__main__":
    sys.exit(main())
