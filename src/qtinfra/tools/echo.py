"""A bare QuickFIX-Python echo acceptor: the benchmark's baseline.

It answers each NewOrderSingle with one ExecutionReport (ExecType 0 New, OrdStatus 0 New)
and does nothing else: no risk, no routing, no journal, no logging on the hot path. It runs
with the gateway's own client acceptor settings (sessions/clients.cfg: FIX.4.4 session
QTGW <- CLIENT1, data dictionary validation on, FileStore with PersistMessages), so the
`qtinfra bench` ratio shows what the gateway's own work costs.

    python -m qtinfra.tools.echo --port 9876 --var /tmp/echo
"""

from __future__ import annotations

import argparse
import itertools
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import quickfix as fix

from qtinfra.config import PROJECT_ROOT
from qtinfra.fix.settings import SettingsFile
from qtinfra.fix.wire import fmt_time


def echo_settings(
    port: int,
    var_dir: Path,
    sessions_file: Path | None = None,
    root: Path = PROJECT_ROOT,
) -> SettingsFile:
    """The gateway's client acceptor settings, reduced to the FIX.4.4 session, on port."""
    settings = SettingsFile.parse(sessions_file or root / "sessions" / "clients.cfg")
    settings.resolve_paths(root, var_dir)
    settings.default["SocketAcceptPort"] = str(port)
    settings.sessions = [
        s for s in settings.sessions if settings.effective(s).get("BeginString") == "FIX.4.4"
    ]
    if not settings.sessions:
        raise SystemExit("the client sessions file has no FIX.4.4 session to echo on")
    return settings


class EchoApplication(fix.Application):  # type: ignore[misc]
    """Answers each NewOrderSingle (D) with one ExecutionReport (8) New."""

    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)
        self._send = fix.Session.sendToTarget
        self.orders = 0

    def onCreate(self, session_id: fix.SessionID) -> None:
        pass

    def onLogon(self, session_id: fix.SessionID) -> None:
        pass

    def onLogout(self, session_id: fix.SessionID) -> None:
        pass

    def toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        # An exception escaping a QuickFIX callback ends the process: catch everything.
        try:
            if message.getHeader().getField(35) != "D":
                return
            n = next(self._ids)
            get = message.getField
            report = fix.Message()
            report.getHeader().setField(35, "8")
            s = report.setField
            s(37, f"ECHO{n}")
            s(11, get(11))
            s(17, f"ECHOE{n}")
            s(150, "0")
            s(39, "0")
            s(55, get(55))
            s(54, get(54))
            quantity = get(38)
            s(38, quantity)
            s(40, get(40))
            if message.isSetField(44):
                s(44, get(44))
            if message.isSetField(59):
                s(59, get(59))
            s(151, quantity)
            s(14, "0")
            s(6, "0")
            s(60, fmt_time(datetime.now(UTC)))
            self._send(report, session_id)
            self.orders += 1
        except Exception as exc:  # pragma: no cover - visible on stderr, never expected
            print(f"echo: could not answer: {exc!r}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qtinfra.tools.echo", description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="SocketAcceptPort")
    parser.add_argument("--var", required=True, help="directory for the FileStore")
    parser.add_argument("--sessions", help="client sessions file (default sessions/clients.cfg)")
    args = parser.parse_args(argv)

    var_dir = Path(args.var).resolve()
    settings = echo_settings(args.port, var_dir, Path(args.sessions) if args.sessions else None)
    path = settings.write(var_dir / "run" / "echo.cfg")
    session_settings = fix.SessionSettings(str(path))
    app = EchoApplication()
    acceptor = fix.SocketAcceptor(app, fix.FileStoreFactory(session_settings), session_settings)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    acceptor.start()
    print(f"echo acceptor ready on port {args.port}", flush=True)
    while not stop.wait(0.2):
        pass
    acceptor.stop()
    print(f"echo acceptor stopped after {app.orders} orders", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
