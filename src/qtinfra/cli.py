"""The `qtinfra` command: run the gateway, a venue, a demo client, and operations tools."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import getpass
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import structlog

from qtinfra.config import PROJECT_ROOT, QtinfraConfig, load_config, load_ops_config
from qtinfra.errors import QtinfraError
from qtinfra.ops.logging import configure_logging

log = structlog.get_logger("qtinfra")

_SIDES = {"buy": "1", "sell": "2", "short": "5"}
_TIFS = {"day": "0", "gtc": "1", "ioc": "3", "fok": "4"}


def _config(args: argparse.Namespace) -> QtinfraConfig:
    config = load_config(Path(args.config_dir) if args.config_dir else None)
    gateway_updates: dict[str, object] = {}
    if getattr(args, "database_url", None):
        # The command line wins over QTINFRA_DATABASE_URL, which wins over gateway.toml.
        os.environ["QTINFRA_DATABASE_URL"] = args.database_url
    if getattr(args, "no_venues", False):
        gateway_updates["start_venues"] = False
    if gateway_updates:
        config = config.model_copy(
            update={"gateway": config.gateway.model_copy(update=gateway_updates)}
        )
    return config


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _die_with_parent() -> None:
    """Child processes get SIGTERM when the gateway dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_venue_processes(
    args: argparse.Namespace, config: QtinfraConfig
) -> list[subprocess.Popen[bytes]]:
    procs = []
    for venue in config.venues:
        cmd = [sys.executable, "-m", "qtinfra.cli"]
        if args.config_dir:
            cmd += ["--config-dir", args.config_dir]
        if args.dev:
            cmd.append("--dev")
        cmd += ["venue", venue.name]
        procs.append(subprocess.Popen(cmd, preexec_fn=_die_with_parent))
    return procs


def cmd_run(args: argparse.Namespace) -> int:
    from qtinfra.gateway import Gateway

    config = _config(args)
    venues = start_venue_processes(args, config) if config.gateway.start_venues else []
    gateway = Gateway(config, Path(args.sessions) if args.sessions else None)
    stop = _stop_on_signals()
    try:
        gateway.start()
        log.info(
            "ready",
            client_sessions=str(
                config.path(
                    Path(args.sessions) if args.sessions else config.gateway.client_sessions
                )
            ),
            ops=f"http://{config.gateway.http_host}:{config.gateway.http_port}",
        )
        gateway.run(stop)  # the business thread: returns after a clean shutdown
    finally:
        for proc in venues:
            proc.terminate()
        for proc in venues:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 3 if gateway.storage_failure is not None else 0


def cmd_venue(args: argparse.Namespace) -> int:
    from qtinfra.venues.acceptor import run_venue

    config = _config(args)
    run_venue(config, args.name, _stop_on_signals())
    return 0


def cmd_sessions(args: argparse.Namespace) -> int:
    config = _config(args)
    url = args.url or f"http://{config.gateway.http_host}:{config.gateway.http_port}/sessions"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            rows = json.load(resp)
    except OSError as exc:
        print(f"cannot reach the gateway at {url}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    header = (
        f"{'SESSION':<32} {'KIND':<6} {'STATE':<10} {'NEXT IN':>8} {'NEXT OUT':>8}  LAST MESSAGE"
    )
    print(header)
    for r in rows:
        state = "logged on" if r["logged_on"] else "down"
        print(
            f"{r['session']:<32} {r['kind']:<6} {state:<10} {r['next_seq_in'] or '-':>8} "
            f"{r['next_seq_out'] or '-':>8}  {r['last_message'] or '-'}"
        )
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    from qtinfra.fix.auth import hash_password

    password = args.password or getpass.getpass("password: ")
    print(hash_password(password))
    return 0


def _client(args: argparse.Namespace) -> object:
    from qtinfra.tools.buyside import BuySideClient, ClientSessionConfig

    config = _config(args)
    cfg = ClientSessionConfig(
        sender_comp_id=args.sender,
        target_comp_id=config.gateway.comp_id,
        host=args.host,
        port=args.port,
        begin_string=args.begin_string,
        username=args.username,
        password=args.password,
        store_dir=config.var_dir / "client" / args.sender,
    )
    return BuySideClient(cfg)


def cmd_client(args: argparse.Namespace) -> int:
    from qtinfra.tools.buyside import BuySideClient, describe

    client = _client(args)
    assert isinstance(client, BuySideClient)
    client.on_message = lambda m: print(describe(m), flush=True)
    if not client.start(wait=15):
        while not client.admin.empty():
            print(describe(client.admin.get()), flush=True)
        print("could not log on to the gateway (is `qtinfra run` running?)", file=sys.stderr)
        client.stop()
        return 1
    try:
        if args.action in _SIDES:
            limit = Decimal(args.limit) if args.limit else None
            cl = client.new_order(
                args.symbol,
                _SIDES[args.action],
                Decimal(args.quantity),
                limit,
                tif=_TIFS[args.tif],
                account=args.account,
            )
            print(f"sent NewOrderSingle ClOrdID={cl}", flush=True)
        elif args.action == "cancel":
            cl = client.cancel(
                args.symbol, args.cancel_symbol, _SIDES[args.side], args.quantity or "0"
            )
            print(f"sent OrderCancelRequest ClOrdID={cl}", flush=True)
        elif args.action == "replace":
            cl = client.replace(
                args.symbol,
                args.cancel_symbol,
                _SIDES[args.side],
                args.quantity,
                args.limit,
                tif=_TIFS[args.tif],
            )
            print(f"sent OrderCancelReplaceRequest ClOrdID={cl}", flush=True)
        elif args.action == "status":
            client.status(args.symbol, args.cancel_symbol, _SIDES[args.side])
        time.sleep(args.wait)
    finally:
        client.stop()
    return 0


def _actor(args: argparse.Namespace) -> str:
    return str(args.by or getpass.getuser())


def _scope(args: argparse.Namespace) -> tuple[str, str]:
    if args.all:
        return "firm", ""
    if args.client:
        return "client", args.client
    return "session", args.session


def _set_state(args: argparse.Namespace, state: str) -> int:
    from qtinfra.ops.control import GatewayUnreachable, call

    # Only gateway.toml is needed to reach the gateway: a broken limits file must not
    # disable the kill switch.
    config = load_ops_config(Path(args.config_dir) if args.config_dir else None)
    scope, target = _scope(args)
    body = {
        "scope": scope,
        "target": target,
        "state": state,
        "reason": args.reason,
        "actor": _actor(args),
    }
    try:
        result = call(config, "POST", "/risk/state", body)
    except GatewayUnreachable as exc:
        print(f"qtinfra: {exc}; nothing changed", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"qtinfra: {exc}", file=sys.stderr)
        return 2
    where = "firm-wide" if scope == "firm" else f"{scope} {result['target']}"
    line = f"{where}: {result['state']}"
    if result.get("orders_canceled"):
        line += f"; cancelling {result['orders_canceled']} open orders at the venues"
    print(line)
    return 0


def cmd_kill(args: argparse.Namespace) -> int:
    return _set_state(args, "REDUCING" if args.reducing else "HALTED")


def cmd_resume(args: argparse.Namespace) -> int:
    return _set_state(args, "ACTIVE")


def cmd_limits(args: argparse.Namespace) -> int:
    from qtinfra.ops.control import GatewayUnreachable, call, set_limits

    config = load_ops_config(Path(args.config_dir) if args.config_dir else None)
    try:
        if args.limits_action == "show":
            try:
                status = call(config, "GET", "/risk")
            except GatewayUnreachable as exc:
                print(f"qtinfra: {exc}", file=sys.stderr)
                return 1
            print(json.dumps(status, indent=2))
            return 0
        if args.limits_action == "set":
            path = set_limits(
                config.config_dir, config.root, args.assignments, args.client, args.instrument
            )
            print(f"{path}: written")
        try:
            result = call(
                config, "POST", "/risk/reload", {"reason": args.reason, "actor": _actor(args)}
            )
        except GatewayUnreachable as exc:
            print(f"qtinfra: {exc}; the file applies when the gateway starts", file=sys.stderr)
            return 1
    except ValueError as exc:
        print(f"qtinfra: {exc}", file=sys.stderr)
        return 2
    changes = result.get("changes") or []
    print(f"applied in the running gateway ({len(changes)} changes)")
    for line in changes:
        print(f"  {line}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Re-walk the journal's hash chain and checkpoints; exit 0 only when intact."""
    from sqlalchemy.exc import SQLAlchemyError
    from tqdm import tqdm

    from qtinfra.store.audit import journal_size, load_public_key, verify_journal
    from qtinfra.store.db import make_engine

    config = _config(args)
    key_paths = [Path(p) for p in args.public_key] if args.public_key else [config.public_key_path]
    try:
        public_keys = [load_public_key(p) for p in key_paths]
    except (OSError, ValueError) as exc:
        print(f"qtinfra: cannot read the public key: {exc}", file=sys.stderr)
        return 2
    url = config.database_url
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        print(f"qtinfra: no database at {url}", file=sys.stderr)
        return 2
    engine = make_engine(url)
    try:
        total = journal_size(engine, args.from_seq)
        bar = tqdm(
            total=total,
            unit="rows",
            unit_scale=True,
            disable=args.quiet or None,  # None: only on a terminal
            file=sys.stderr,
        )
        with bar:
            result = verify_journal(
                engine, public_keys, args.from_seq, progress=lambda _seq: bar.update(1)
            )
    except SQLAlchemyError as exc:
        print(f"qtinfra: cannot read the journal: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    span = f"rows {result.first_seq}..{result.last_seq}" if result.rows else "no rows"
    print(
        f"journal: {result.rows:,} rows checked ({span}), {result.checkpoints} checkpoints; "
        f"public key {', '.join(map(str, key_paths))}"
    )
    if result.ok:
        print(
            f"intact: the chain is whole and every checkpoint signature verifies "
            f"(signed up to seq {result.last_signed_seq or '-'}; {result.unsigned_tail:,} "
            "later rows chained, not yet signed)"
        )
        return 0
    for problem in result.problems:
        print(f"TAMPERED: {problem}")
    return 1


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def _instant(text: str) -> datetime:
    """YYYY-MM-DD (midnight UTC) or an ISO 8601 time (UTC when it names no zone)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 date or time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cmd_reports(args: argparse.Namespace) -> int:
    os.umask(0o077)  # reports hold personal data: owner-only files and folders
    config = _config(args)
    if args.reports_action == "rts22":
        from qtinfra.reports.rts22 import run_rts22

        return run_rts22(config, args.date, Path(args.out) if args.out else None)
    if args.reports_action == "check":
        from qtinfra.reports.rts22_check import run_check

        return run_check(config, args.date)
    if args.reports_action == "feedback":
        from qtinfra.reports.feedback import run_feedback

        return run_feedback(config, Path(args.file))
    if args.reports_action == "rts24":
        from qtinfra.reports.rts24 import run_rts24

        return run_rts24(
            config, args.start, args.end, args.format, Path(args.out) if args.out else None
        )
    from qtinfra.reports.daily import run_daily
    from qtinfra.store.audit import load_or_create_signing_key

    key = load_or_create_signing_key(config.signing_key_path, config.public_key_path)
    summary = run_daily(config, args.date, key)
    print(json.dumps(summary, indent=2))
    return 0 if summary["ok"] else 1


def cmd_audit_order(args: argparse.Namespace) -> int:
    from qtinfra.reports.trail import run_order_trail

    return run_order_trail(_config(args), args.order, args.json)


def cmd_audit_clock(args: argparse.Namespace) -> int:
    from qtinfra.reports.clocks import run_clock_record

    return run_clock_record(_config(args), args.start, args.end, args.json)


def cmd_clients(args: argparse.Namespace) -> int:
    from qtinfra.ops.clients import ErasureRefused, erase_client, export_client
    from qtinfra.store.db import make_engine, migrate
    from qtinfra.store.privacy import seal_config_files

    config = _config(args)
    if args.clients_action == "seal":
        count = seal_config_files(config)
        print(f"sealed {count} personal values in accounts.toml and people.toml")
        return 0
    engine = make_engine(config.database_url)
    try:
        migrate(engine)
        if args.clients_action == "export":
            data = json.dumps(export_client(config, engine, args.account), indent=2)
            if args.out:
                out = Path(args.out)
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.fchmod(fd, 0o600)  # also when the file already existed
                with os.fdopen(fd, "w") as fh:
                    fh.write(data + "\n")
                print(f"{out}: all data held on {args.account} (personal data: keep it safe)")
            else:
                print(data)
            return 0
        try:
            path = erase_client(config, engine, args.account, datetime.now(UTC).date())
        except ErasureRefused as exc:
            print(f"qtinfra: {exc}", file=sys.stderr)
            return 1
        print(f"{path}: client record {args.account} erased")
        return 0
    finally:
        engine.dispose()


def cmd_bench(args: argparse.Namespace) -> int:
    from qtinfra.bench import run_benchmark

    return run_benchmark(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qtinfra", description=__doc__)
    parser.add_argument("--config-dir", help="directory with gateway.toml etc. (default config/)")
    parser.add_argument("--dev", action="store_true", help="readable console logs")
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the gateway (and the simulated venues)")
    run.add_argument("--sessions", help="QuickFIX settings file of the client sessions")
    run.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite under var/)")
    run.add_argument("--no-venues", action="store_true", help="do not start venue simulators")
    run.set_defaults(func=cmd_run)

    venue = sub.add_parser("venue", help="run one venue simulator")
    venue.add_argument("name")
    venue.set_defaults(func=cmd_venue)

    sessions = sub.add_parser("sessions", help="print every session's state")
    sessions.add_argument("--url", help="the gateway's /sessions URL")
    sessions.add_argument("--json", action="store_true")
    sessions.set_defaults(func=cmd_sessions)

    passwd = sub.add_parser("passwd", help="hash a client password for config/clients.toml")
    passwd.add_argument("--password", help="(default: prompt)")
    passwd.set_defaults(func=cmd_passwd)

    client = sub.add_parser(
        "client",
        help="demo buy-side client",
        description="qtinfra client buy AAPL 100 --limit 190 | sell ... | short ... | "
        "cancel CLORDID SYMBOL --side buy | replace CLORDID SYMBOL --side buy --quantity Q "
        "--limit P | status CLORDID SYMBOL --side buy",
    )
    client.add_argument("action", choices=[*_SIDES, "cancel", "replace", "status"])
    client.add_argument("symbol", help="symbol (new orders) or the ClOrdID (cancel/replace/status)")
    client.add_argument("quantity", nargs="?", help="quantity (new orders)")
    client.add_argument("--symbol", dest="cancel_symbol", help="symbol for cancel/replace/status")
    client.add_argument("--limit", help="limit price (market order when absent)")
    client.add_argument("--quantity", dest="quantity_opt")
    client.add_argument("--side", default="buy", choices=list(_SIDES))
    client.add_argument("--tif", default="day", choices=list(_TIFS))
    client.add_argument("--account")
    client.add_argument("--host", default="127.0.0.1")
    client.add_argument("--port", type=int, default=9876)
    client.add_argument("--sender", default="CLIENT1")
    client.add_argument("--begin-string", default="FIX.4.4")
    client.add_argument("--username", default="client1")
    client.add_argument("--password", default="client1-demo-pass")
    client.add_argument("--wait", type=float, default=3.0, help="seconds to watch for reports")
    client.set_defaults(func=cmd_client)

    for name, helptext in (
        ("kill", "kill switch: halt trading (or --reducing) and cancel open orders in scope"),
        ("resume", "set trading back to ACTIVE"),
    ):
        p = sub.add_parser(name, help=helptext)
        scope = p.add_mutually_exclusive_group(required=True)
        scope.add_argument("--client", help="an Account (config/accounts.toml)")
        scope.add_argument("--session", help="a client session: its CompID or session key")
        scope.add_argument("--all", action="store_true", help="firm-wide")
        p.add_argument("--reason", required=True, help="why (journaled)")
        p.add_argument("--by", help="who (journaled; default: your user name)")
        if name == "kill":
            p.add_argument(
                "--reducing",
                action="store_true",
                help="REDUCING instead of HALTED: only position-reducing orders pass; "
                "nothing is cancelled",
            )
        p.set_defaults(func=cmd_kill if name == "kill" else cmd_resume)

    limits = sub.add_parser("limits", help="show, set or reload risk limits (config/risk.toml)")
    limits_sub = limits.add_subparsers(dest="limits_action", required=True)
    show = limits_sub.add_parser("show", help="trading states, usage and check timings")
    show.set_defaults(func=cmd_limits)
    lset = limits_sub.add_parser(
        "set",
        help="change limits in config/risk.toml and apply them",
        description="qtinfra limits set --client ACC1 max_order_notional=2000000 --reason ... "
        "(no --client/--instrument: firm-wide; KEY=unset removes a limit)",
    )
    lset.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    lset.add_argument("--client", help="the client (Account) level")
    lset.add_argument("--instrument", help="the instrument level (with --client: that pair)")
    reload_ = limits_sub.add_parser("reload", help="apply config/risk.toml as it is now")
    for p in (lset, reload_):
        p.add_argument("--reason", required=True, help="why (journaled)")
        p.add_argument("--by", help="who (journaled; default: your user name)")
        p.set_defaults(func=cmd_limits)

    audit = sub.add_parser("audit", help="the tamper-evident audit trail")
    audit_sub = audit.add_subparsers(dest="audit_action", required=True)
    verify = audit_sub.add_parser(
        "verify",
        help="re-walk the journal's hash chain and signed checkpoints (exit 0 only when intact)",
    )
    verify.add_argument("--from", dest="from_seq", type=int, default=1, metavar="SEQ")
    verify.add_argument(
        "--public-key",
        action="append",
        help="PEM file (default: [audit] public_key); repeat it when the key was replaced",
    )
    verify.add_argument("--database-url", help="SQLAlchemy URL (default: the configured one)")
    verify.add_argument("--quiet", action="store_true", help="no progress bar")
    verify.set_defaults(func=cmd_audit_verify)
    trail = audit_sub.add_parser(
        "order", help="the whole life of a parent order: events, children, fills, FIX messages"
    )
    trail.add_argument("order", help="a client ClOrdID (any in the chain) or our OrderID")
    trail.add_argument("--json", action="store_true", help="machine-readable")
    trail.add_argument("--database-url", help="SQLAlchemy URL (default: the configured one)")
    trail.set_defaults(func=cmd_audit_order)
    clock = audit_sub.add_parser(
        "clock",
        help="the clock record of a period (RTS 25): readings outside their limit, gaps",
    )
    clock.add_argument("--from", dest="start", type=_instant, required=True)
    clock.add_argument("--to", dest="end", type=_instant, required=True)
    clock.add_argument("--json", action="store_true", help="every reading, machine-readable")
    clock.add_argument("--database-url", help="SQLAlchemy URL (default: the configured one)")
    clock.set_defaults(func=cmd_audit_clock)

    reports = sub.add_parser("reports", help="MiFID II reports (RTS 22, RTS 24)")
    reports_sub = reports.add_subparsers(dest="reports_action", required=True)
    r22 = reports_sub.add_parser("rts22", help="RTS 22 transaction reports for a trading day")
    r22.add_argument("--date", type=_day, required=True, metavar="YYYY-MM-DD")
    r22.add_argument("--out", help="reports folder (default: [reports] out_dir)")
    check = reports_sub.add_parser(
        "check", help="every finding on a day's RTS 22 transactions (business rules, schema)"
    )
    check.add_argument("--date", type=_day, required=True, metavar="YYYY-MM-DD")
    r24 = reports_sub.add_parser("rts24", help="RTS 24 order records for a period")
    r24.add_argument("--from", dest="start", type=_instant, required=True)
    r24.add_argument("--to", dest="end", type=_instant, required=True)
    r24.add_argument("--format", choices=["csv", "json"], default="csv")
    r24.add_argument("--out", help="file to write (default: standard output)")
    daily = reports_sub.add_parser(
        "daily", help="the day's reports and their signed manifest, as the scheduler runs them"
    )
    daily.add_argument("--date", type=_day, required=True, metavar="YYYY-MM-DD")
    feedback = reports_sub.add_parser(
        "feedback",
        help="read an authority's auth.031 status advice on our RTS 22 files: record it, "
        "list what to correct",
    )
    feedback.add_argument("file", help="the auth.031.001.01 XML file")
    for p in (r22, check, r24, daily, feedback):
        p.add_argument("--database-url", help="SQLAlchemy URL (default: the configured one)")
        p.set_defaults(func=cmd_reports)

    clients = sub.add_parser("clients", help="client records: seal, export (GDPR), erase")
    clients_sub = clients.add_subparsers(dest="clients_action", required=True)
    seal = clients_sub.add_parser("seal", help="encrypt plain personal values in config files")
    export = clients_sub.add_parser("export", help="all data held on a client (GDPR Art. 15)")
    export.add_argument("account")
    export.add_argument("--out", help="file to write (owner-only; default: standard output)")
    erase = clients_sub.add_parser(
        "erase", help="erase a client record (refused while MiFID II requires it)"
    )
    erase.add_argument("account")
    for p in (seal, export, erase):
        p.add_argument("--database-url", help="SQLAlchemy URL (default: the configured one)")
        p.set_defaults(func=cmd_clients)

    bench = sub.add_parser("bench", help="benchmark the pipeline beside a bare echo acceptor")
    bench.add_argument("--orders", type=int, default=5000)
    bench.add_argument("--in-flight", type=int, default=200)
    bench.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite in a temp dir)")
    bench.add_argument("--skip-echo", action="store_true")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(dev=args.dev or os.environ.get("QTINFRA_DEV") == "1", level=args.log_level)
    if getattr(args, "quantity_opt", None):
        args.quantity = args.quantity_opt
    if (
        args.command == "client"
        and args.action in ("cancel", "replace", "status")
        and not args.cancel_symbol
    ):
        parser.error(f"client {args.action} needs --symbol")
    try:
        return int(args.func(args))
    except QtinfraError as exc:
        print(f"qtinfra: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["PROJECT_ROOT", "main"]
