"""Exit 0 when the installed quickfix has SSL and the PostgreSQL store compiled in.

Used by the Makefile before and after building quickfix. A quickfix built without
-DHAVE_SSL / -DHAVE_POSTGRESQL still has SSLSocketAcceptor and PostgreSQLStoreFactory,
but as stubs (swig/SSLStubs.h, swig/PostgreSQLStubs.h in the quickfix sdist) whose
constructors throw ConfigError("HAVE_SSL not enabled") / ("HAVE_POSTGRESQL not enabled").
A build compiled with the flags but not linked to libssl/libpq fails to import
(undefined symbol). Nothing here opens a socket or a database connection.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


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

        problem = _logon_refusal_problem(fix, app, Path(tmp))
        if problem:
            problems.append(problem)
    problem = _patch_version_problem()
    if problem:
        problems.append(problem)

    where = getattr(fix, "__file__", "?")
    if problems:
        print(f"check_quickfix: {where} lacks compiled-in features:")
        for p in problems:
            print(f"  - {p}")
        return 1
    print(f"check_quickfix: {where}: SSL and PostgreSQL store compiled in, logon patch in")
    return 0


def _patch_version_problem() -> str | None:
    """None when the installed quickfix was built with the patch file as it is now (the
    Makefile records the patch's SHA-256 beside the build), else what differs."""
    import hashlib

    patch = (
        Path(__file__).resolve().parent.parent / "patches" / "quickfix-1.16.0-logon-refusal.patch"
    )
    record = Path(sys.prefix) / "quickfix-patch.sha256"
    if not record.exists():
        return "no record of the patch the installed quickfix was built with"
    if record.read_text().strip() != hashlib.sha256(patch.read_bytes()).hexdigest():
        return "the installed quickfix was built with an older version of the patch"
    return None


def _logon_refusal_problem(fix: Any, app: Any, tmp: Path) -> str | None:
    """None when the patch in patches/ is in the build: a Logon for no configured session
    is closed without a word, a configured session's Logon that fails validation (a
    repeated tag) is answered with a Logout saying why, and one whose data field's length
    is negative or huge is closed as garbled (the process lives on). Listens on a free
    loopback port for a moment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dictionary = Path(__file__).resolve().parent.parent / "fix_specs" / "FIX44.xml"
    cfg = tmp / "patch.cfg"
    cfg.write_text(
        "[DEFAULT]\nConnectionType=acceptor\n"
        f"SocketAcceptPort={port}\nStartTime=00:00:00\nEndTime=00:00:00\n"
        f"UseDataDictionary=Y\nDataDictionary={dictionary}\n\n[SESSION]\n"
        "BeginString=FIX.4.4\nSenderCompID=QFCHECK\nTargetCompID=QFCHECK2\n"
    )
    settings = fix.SessionSettings(str(cfg))
    events: list[str] = []
    logs = _event_log_factory(fix, events)
    acceptor = fix.SocketAcceptor(app, fix.MemoryStoreFactory(), settings, logs)
    acceptor.start()
    try:
        stranger = _exchange(port, "NOBODY", "", prefix=b"JUNK\x01")
        invalid = _exchange(port, "QFCHECK2", "554=a\x01554=b\x01")
        # A data field whose length is negative or runs past the message ended the process.
        bad_lengths = [
            _exchange(port, "QFCHECK2", extra)
            for extra in ("95=-1\x0196=abc\x01", "95=2000000000\x0196=abc\x01")
        ]
        flood_closed_in = _flood(port)
    except OSError as exc:
        return f"logon-refusal patch: {exc}"
    finally:
        acceptor.stop(True)
    if stranger:
        return "logon-refusal patch missing: an unknown session's Logon got an answer"
    if b"\x0135=5\x01" not in invalid or b"Logon refused" not in invalid:
        return "logon-refusal patch missing: an invalid Logon got no Logout saying why"
    if flood_closed_in is None or flood_closed_in > 3:
        return "logon-refusal patch missing: 128 KiB without a Logon did not close the connection"
    if not any(e.startswith("Discarded 5 bytes") and e.endswith(": JUNK\x01") for e in events):
        return "logon-refusal patch missing: bytes that are no FIX message were not logged"
    length_events = [
        e for e in events if e.startswith("Invalid message: Data field 96 does not end")
    ]
    if any(bad_lengths) or len(length_events) != 2:
        return "logon-refusal patch missing: a data field's length is not checked"
    return None


def _event_log_factory(fix: Any, events: list[str]) -> Any:
    """A LogFactory whose logs append every event to `events`."""

    class _Log(fix.Log):  # type: ignore[misc,name-defined]
        def clear(self):
            pass

        def backup(self):
            pass

        def onIncoming(self, text):
            pass

        def onOutgoing(self, text):
            pass

        def onEvent(self, text):
            events.append(text)

    class _Factory(fix.LogFactory):  # type: ignore[misc,name-defined]
        def __init__(self):
            super().__init__()
            self.logs = []

        def create(self, *args):
            log = _Log()
            self.logs.append(log)  # alive as long as the factory
            return log.__disown__()

        def destroy(self, log):
            pass

    return _Factory()


def _flood(port: int) -> float | None:
    """Seconds until a connection sending 128 KiB without a Logon is closed (None: not
    within 4 s)."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=4) as conn:
        try:
            for _ in range(16):
                conn.sendall(b"A" * 8192)
            while time.monotonic() - start < 4:
                if not conn.recv(4096):
                    return time.monotonic() - start
        except (TimeoutError, ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
    return None


def _exchange(port: int, sender: str, extra: str, prefix: bytes = b"") -> bytes:
    """Send `prefix`, then one Logon from `sender`, and return what comes back before the
    connection closes (or 5 s pass)."""
    body = f"35=A\x0149={sender}\x0156=QFCHECK\x0134=1\x0152={_now()}\x0198=0\x01108=30\x01" + extra
    text = f"8=FIX.4.4\x019={len(body)}\x01{body}"
    text += f"10={sum(text.encode()) % 256:03d}\x01"
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(prefix + text.encode())
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                chunk = conn.recv(4096)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            received += chunk
    return received


def _now() -> str:
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime())


if __name__ == "__main__":
    sys.exit(main())
