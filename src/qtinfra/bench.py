"""`qtinfra bench`: orders per second and ack latency through the whole pipeline, beside a
bare QuickFIX echo acceptor measured in the same run on the same machine.

(a) echo: `python -m qtinfra.tools.echo` (the gateway's client acceptor settings, one
    ExecutionReport per order) and the load driver;
(b) gateway: three venue processes (`qtinfra venue NAME`) and the gateway
    (`qtinfra run --no-venues`, risk checks and journal on, SQLite in the temp dir unless
    --database-url), the same load, every order followed until done (fills back to the client).

Both runs use the same driver (qtinfra.tools.loadgen), the same warm-up and the same orders:
marketable IOC limit orders, alternating buy/sell across instruments. The ratio
gateway/echo is printed, never asserted (DESIGN.md, "Performance").

Environment knobs (for profiling and debugging, not needed in CI):
QTINFRA_BENCH_KEEP=1 keeps the temp dir (logs, database); QTINFRA_BENCH_PYSPY=DIR records
the gateway with `py-spy record` (collapsed stacks, DIR/gateway.txt) during the measured run
(needs py-spy on PATH or beside the interpreter); QTINFRA_BENCH_PYSPY_GIL=1 samples only the
thread holding the GIL; QTINFRA_BENCH_PYSPY_NATIVE=1 adds native (C++) frames.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtinfra.config import PROJECT_ROOT, QtinfraConfig, load_config
from qtinfra.tools.deployment import LocalDeployment
from qtinfra.tools.ports import free_port

WARMUP_ORDERS = 200
CLIENT = ("CLIENT1", "client1", "client1-demo-pass")
STARTUP_TIMEOUT = 60.0


# -- small helpers ----------------------------------------------------------------------------


def hardware_line() -> str:
    cpus = os.cpu_count() or 0
    with contextlib.suppress(AttributeError):
        cpus = len(os.sched_getaffinity(0))
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        from importlib.metadata import version

        qf = version("quickfix")
    except Exception:
        qf = "?"
    return (
        f"hardware: nproc={cpus} ({model}); Python {platform.python_version()}; "
        f"QuickFIX {qf}; {platform.system()} {platform.release()}"
    )


@contextlib.contextmanager
def echo_process(root: Path) -> Iterator[tuple[int, int]]:
    """The bare echo acceptor as its own process; yields its port and pid."""
    port = free_port()
    var = root / "echo"
    var.mkdir(parents=True, exist_ok=True)
    log = (var / "echo.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qtinfra.tools.echo", "--port", str(port), "--var", str(var)],
        stdout=log,
        stderr=log,
    )
    try:
        yield port, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


@contextlib.contextmanager
def py_spy(pid: int, out_dir: str | None, label: str) -> Iterator[None]:
    """`py-spy record` on pid while the block runs, when out_dir is given."""
    if not out_dir:
        yield
        return
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    base = Path(out_dir) / label
    cmd = [exe, "record", "--pid", str(pid), "--rate", "200", "--threads"]
    if os.environ.get("QTINFRA_BENCH_PYSPY_GIL") == "1":
        cmd.append("--gil")  # only the thread holding the GIL: where the Python CPU goes
    if os.environ.get("QTINFRA_BENCH_PYSPY_NATIVE") == "1":
        cmd.append("--native")  # C/C++ frames too (QuickFIX, sqlite3); pauses the process
    else:
        cmd.append("--nonblocking")
    procs = [
        subprocess.Popen(
            [*cmd, "--format", fmt, "-o", f"{base}.{ext}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for fmt, ext in (("raw", "txt"),)
    ]
    time.sleep(1.0)  # let py-spy attach
    try:
        yield
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def _cpu_seconds(pid: int | None) -> float:
    """utime + stime of a process (None: this process), in seconds; 0.0 when unknown."""
    try:
        if pid is None:
            t = os.times()
            return t.user + t.system
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


@contextlib.contextmanager
def cpu_meter(pids: dict[str, int | None], into: dict[str, float]) -> Iterator[None]:
    """CPU seconds each process used while the block ran (into[name]), and the wall time."""
    before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    start = time.monotonic()
    try:
        yield
    finally:
        into["wall"] = time.monotonic() - start
        for name, pid in pids.items():
            into[name] = _cpu_seconds(pid) - before[name]


# -- the benchmark ----------------------------------------------------------------------------


@dataclass
class BenchReport:
    orders: int
    in_flight: int
    warmup: int
    echo: Any = None  # LoadResult
    gateway: Any = None  # LoadResult
    database_url: str = ""
    db_counts: dict[str, int] = field(default_factory=dict)
    journal_kinds: dict[str, int] = field(default_factory=dict)
    echo_cpu: dict[str, float] = field(default_factory=dict)
    gateway_cpu: dict[str, float] = field(default_factory=dict)
    verify: dict[str, Any] = field(default_factory=dict)
    """`qtinfra audit verify` of the gateway run's journal: rows, seconds, intact."""
    risk_chain: dict[str, Any] = field(default_factory=dict)
    """The gateway's own timing of the pre-trade check chain (GET /risk: count, p50, p99
    in microseconds)."""
    errors: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.echo is None or self.gateway is None or not self.echo.orders_per_second:
            return None
        return float(self.gateway.orders_per_second / self.echo.orders_per_second)


def _driver(port: int, store: Path, config: QtinfraConfig) -> Any:
    from qtinfra.tools.buyside import ClientSessionConfig
    from qtinfra.tools.loadgen import LoadGenerator, marketable_orders

    sender, username, password = CLIENT
    cfg = ClientSessionConfig(
        sender_comp_id=sender,
        target_comp_id=config.gateway.comp_id,
        port=port,
        username=username,
        password=password,
        data_dictionary=PROJECT_ROOT / "fix_specs" / "FIX44.xml",
        store_dir=store,
        reset_on_logon=True,
    )
    # Instruments every venue trades, so each order can fill wherever the router sends it.
    venue_count = len(config.venues)
    instruments = [i for i in config.instrument_map().values() if len(i.venues) == venue_count]
    return LoadGenerator(cfg, marketable_orders(instruments or config.instrument_map().values()))


def _measure(
    driver: Any,
    label: str,
    orders: int,
    in_flight: int,
    warmup: int,
    wait_done: bool,
    profile: Callable[[], contextlib.AbstractContextManager[None]] | None = None,
) -> Any:
    if not driver.start(timeout=30):
        raise RuntimeError(f"{label}: the load session could not log on ({driver.logout_text})")
    try:
        if warmup:
            w = driver.run(warmup, min(in_flight, warmup), wait_done=wait_done, label="warm-up")
            if w.timed_out:
                raise RuntimeError(f"{label}: the warm-up timed out ({w})")
            time.sleep(0.5)
        with profile() if profile else contextlib.nullcontext():
            return driver.run(orders, in_flight, wait_done=wait_done, label=label)
    finally:
        driver.stop()


def _count_rows(database_url: str) -> tuple[dict[str, int], dict[str, int]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            counts = {
                t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one())
                for t in ("orders", "child_orders", "executions", "journal")
            }
            kinds = {
                str(k): int(n)
                for k, n in conn.execute(
                    text("SELECT kind, COUNT(*) FROM journal GROUP BY kind ORDER BY 2 DESC")
                )
            }
        return counts, kinds
    finally:
        engine.dispose()


def _verify(database_url: str, public_key: Path) -> dict[str, Any]:
    """Time a full walk of the journal's hash chain and checkpoints."""
    from qtinfra.store.audit import load_public_key, verify_journal
    from qtinfra.store.db import make_engine

    engine = make_engine(database_url)
    try:
        start = time.perf_counter()
        result = verify_journal(engine, load_public_key(public_key))
        elapsed = time.perf_counter() - start
    finally:
        engine.dispose()
    return {"rows": result.rows, "seconds": elapsed, "ok": result.ok, "problems": result.problems}


def benchmark(
    orders: int,
    in_flight: int,
    *,
    database_url: str | None = None,
    skip_echo: bool = False,
    warmup: int = WARMUP_ORDERS,
    root: Path | None = None,
    progress: Callable[[str], None] = lambda s: None,
) -> BenchReport:
    """Run both measurements under root (a temp dir by default); see the module docstring."""
    report = BenchReport(orders, in_flight, warmup)
    keep = os.environ.get("QTINFRA_BENCH_KEEP") == "1"
    pyspy_dir = os.environ.get("QTINFRA_BENCH_PYSPY")
    own_tmp = root is None
    root = root or Path(tempfile.mkdtemp(prefix="qtinfra-bench-"))
    try:
        source = load_config()
        if not skip_echo:
            progress(f"echo: starting the bare echo acceptor ({root / 'echo'})")
            with echo_process(root) as (port, echo_pid):
                driver = _driver(port, root / "client-echo", source)
                report.echo = _measure(
                    driver,
                    "echo",
                    orders,
                    in_flight,
                    warmup,
                    wait_done=False,
                    profile=lambda: cpu_meter({"echo": echo_pid, "driver": None}, report.echo_cpu),
                )
            progress(f"echo: {report.echo.orders_per_second:,.0f} orders/s")

        url = database_url or f"sqlite:///{root / 'qtinfra.db'}"
        report.database_url = url
        deployment = LocalDeployment(
            root / "gateway", url, client_sessions=source.path(source.gateway.client_sessions)
        )
        deployment.root.mkdir(parents=True, exist_ok=True)
        deployment.write_config()
        config = deployment.config()
        progress(f"gateway: starting {len(config.venues)} venues and the gateway")
        try:
            for venue in config.venues:
                deployment.start_venue(venue.name)
            deployment.start_gateway(timeout=STARTUP_TIMEOUT)
            time.sleep(1.0)  # the venues' first market data snapshots reach the router
            assert deployment.gateway is not None
            progress(f"gateway: ready (pid {deployment.gateway.pid}), running the load")
            driver = _driver(deployment.client_port, root / "client-gateway", config)
            gw_pid = deployment.gateway.pid
            pids: dict[str, int | None] = {"gateway": gw_pid, "driver": None}
            pids |= {f"venue {n}": p.pid for n, p in deployment.venues.items()}

            @contextlib.contextmanager
            def measured() -> Iterator[None]:
                with py_spy(gw_pid, pyspy_dir, "gateway"), cpu_meter(pids, report.gateway_cpu):
                    yield

            report.gateway = _measure(
                driver,
                "gateway",
                orders,
                in_flight,
                warmup,
                wait_done=True,
                profile=measured,
            )
            status = deployment.get("/risk") or {}
            report.risk_chain = status.get("check_chain_us") or {}
        except Exception as exc:
            report.errors.append(f"{exc}\n--- gateway log ---\n{deployment.log_tail('gateway')}")
        finally:
            deployment.stop()
        try:
            report.db_counts, report.journal_kinds = _count_rows(url)
        except Exception as exc:
            report.errors.append(f"could not read the database: {exc}")
        try:
            report.verify = _verify(url, config.public_key_path)
        except Exception as exc:
            report.errors.append(f"could not verify the journal: {exc}")
    finally:
        if keep or not own_tmp:
            progress(f"files kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return report


# -- printing ---------------------------------------------------------------------------------


def _ms(us: float) -> str:
    return f"{us / 1000:.2f} ms"


def format_report(report: BenchReport) -> str:
    lines = [
        f"qtinfra bench: {report.orders} orders, {report.in_flight} in flight "
        f"(after {report.warmup} warm-up orders on each side)",
        hardware_line(),
        "orders: marketable IOC limit orders, buy/sell alternating across instruments, qty 10",
        "",
    ]
    header = (
        f"{'':28} {'orders':>7} {'in flight':>9} {'orders/s':>10} "
        f"{'ack p50':>10} {'ack p99':>10} {'ack p99.9':>10} {'ack max':>10}"
    )
    lines += [header, "-" * len(header)]
    for name, r in (
        ("echo acceptor (bare QF)", report.echo),
        ("gateway (risk+journal on)", report.gateway),
    ):
        if r is None:
            lines.append(f"{name:28} {'(not run)':>7}")
            continue
        lines.append(
            f"{name:28} {r.acks:>7} {r.in_flight:>9} {r.orders_per_second:>10,.0f} "
            f"{_ms(r.percentile_us(0.50)):>10} {_ms(r.percentile_us(0.99)):>10} "
            f"{_ms(r.percentile_us(0.999)):>10} {_ms(r.percentile_us(1.0)):>10}"
        )
    lines.append("")
    ratio = report.ratio
    if ratio is not None:
        lines.append(f"ratio gateway/echo (orders/s): {ratio:.2f}  (aim: >= 0.50)")
    else:
        lines.append("ratio gateway/echo (orders/s): n/a")
    g = report.gateway
    if g is not None:
        lines.append(
            f"gateway: {g.done}/{g.orders} orders done (filled/canceled/rejected) in "
            f"{g.done_elapsed_s:.2f} s ({g.done_per_second:,.0f} orders/s to done); "
            f"fills {g.fills}, canceled {g.canceled}, rejected {g.rejected}, "
            f"session rejects {g.session_rejects}, business rejects {g.business_rejects}"
            + ("; TIMED OUT" if g.timed_out else "")
        )
    chain = report.risk_chain
    if chain.get("count"):
        lines.append(
            f"pre-trade check chain per order (risk on, timed in the gateway): "
            f"p50 {chain['p50']:.1f} µs, p99 {chain['p99']:.1f} µs over {chain['count']:,} "
            "evaluations (target: p50 < 50 µs)"
        )
    for name, cpu in (("echo", report.echo_cpu), ("gateway", report.gateway_cpu)):
        if cpu.get("wall"):
            wall = cpu["wall"]
            parts = ", ".join(
                f"{k} {v:.1f} s ({v / wall:.0%})" for k, v in cpu.items() if k != "wall"
            )
            lines.append(f"CPU during the {name} run ({wall:.1f} s wall): {parts}")
    e = report.echo
    if e is not None and e.timed_out:
        lines.append(f"echo: TIMED OUT after {e.acks}/{e.orders} acks")
    if report.db_counts:
        c = report.db_counts
        kinds = ", ".join(f"{k} {n}" for k, n in report.journal_kinds.items())
        lines.append(
            f"journal on ({report.database_url.split('://', 1)[0]}): orders {c['orders']}, "
            f"child orders {c['child_orders']}, executions {c['executions']}, "
            f"journal rows {c['journal']} ({kinds})"
        )
    v = report.verify
    if v:
        rate = v["rows"] / v["seconds"] if v["seconds"] else 0
        lines.append(
            f"audit verify of that journal: {v['rows']:,} rows in {v['seconds']:.2f} s "
            f"({rate:,.0f} rows/s), " + ("intact" if v["ok"] else f"FAILED: {v['problems'][:1]}")
        )
    for err in report.errors:
        lines.append(f"ERROR: {err}")
    return "\n".join(lines)


def run_benchmark(args: argparse.Namespace) -> int:
    orders = int(args.orders)
    in_flight = int(args.in_flight)
    if orders < 1 or in_flight < 1:
        print("qtinfra bench: --orders and --in-flight must be positive", file=sys.stderr)
        return 2
    report = benchmark(
        orders,
        in_flight,
        database_url=getattr(args, "database_url", None),
        skip_echo=bool(getattr(args, "skip_echo", False)),
        warmup=int(getattr(args, "warmup", WARMUP_ORDERS)),
        progress=lambda s: print(f"... {s}", flush=True),
    )
    print(format_report(report), flush=True)
    failed = report.errors or report.gateway is None or report.gateway.timed_out
    failed = failed or (report.echo is not None and report.echo.timed_out)
    return 1 if failed else 0
