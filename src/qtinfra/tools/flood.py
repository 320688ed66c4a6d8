"""`python -m qtinfra.tools.flood`: what one hostile connection costs everyone else.

Starts a whole deployment (three venue processes and the gateway, SQLite in a temp dir),
logs on the load driver as CLIENT1 and measures its ack latency at 1 order in flight in
three conditions: on a quiet gateway; while other processes flood the client port from
connections that never log on (bytes without a BeginString, each connection reopened as
soon as the gateway closes it); and, as the control, while the same processes flood a
sink process instead (which reads and closes like the gateway), so that what the flood
costs the machine's two cores by itself is told apart from what the gateway's handling of
it costs another session (flooded - control). Prints the distributions and differences;
nothing is asserted (DESIGN.md, "Performance": figures, not timed tests).

The flooders are processes of their own, so their CPU is not taken from the driver's
interpreter; on a two-core machine they still share the cores with the gateway and the
venues, which is part of what is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from qtinfra.bench import CLIENT, _driver, hardware_line
from qtinfra.config import load_config
from qtinfra.tools.deployment import LocalDeployment

CHUNK = b"A" * 65536


def flood(port: int, seconds: float) -> None:
    """Send bytes that are never a FIX message to port for `seconds`, reconnecting each time
    the gateway closes the connection; print how many bytes and connections it took."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop when terminated
    deadline = time.monotonic() + seconds
    sent = connections = 0
    try:
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                    connections += 1
                    while time.monotonic() < deadline:
                        conn.sendall(CHUNK)
                        sent += len(CHUNK)
            except OSError:
                continue  # closed by the gateway: open another
    except KeyboardInterrupt:
        pass
    print(json.dumps({"bytes": sent, "connections": connections}), flush=True)


def sink() -> None:
    """The control's target: a process that accepts connections, reads 72 KiB of each and
    closes it, as the gateway does with a connection that sends no Logon. Prints its port."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with socket.create_server(("127.0.0.1", 0)) as server:
        print(server.getsockname()[1], flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                conn, _ = server.accept()
                with conn:
                    got = 0
                    while got < 72 * 1024 and (chunk := conn.recv(65536)):
                        got += len(chunk)


def _sink() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "qtinfra.tools.flood", "--sink"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def _flooders(port: int, count: int, seconds: float) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "qtinfra.tools.flood", "--flooder", str(port), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]


def _stop(procs: list[subprocess.Popen[str]], into: dict[str, int]) -> None:
    """Stop the flooders; add what they sent to `into`."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        stdout, _ = proc.communicate(timeout=10)
        with contextlib.suppress(ValueError, IndexError):
            sent = json.loads(stdout.strip().splitlines()[-1])
            into["bytes"] += sent["bytes"]
            into["connections"] += sent["connections"]


def _figures(latencies_ns: list[int]) -> dict[str, float]:
    ordered = sorted(latencies_ns)

    def at(q: float) -> float:
        rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))
        return ordered[rank - 1] / 1000.0

    return {"p50_us": at(0.50), "p99_us": at(0.99), "max_us": at(1.0), "acks": len(ordered)}


def measure(orders: int, flooders: int, rounds: int = 3) -> dict[str, Any]:
    """The passes on one deployment; the figures as a dict (see the module docstring)."""
    root = Path(tempfile.mkdtemp(prefix="qtinfra-flood-"))
    source = load_config()
    deployment = LocalDeployment(
        root / "gateway",
        f"sqlite:///{root / 'qtinfra.db'}",
        client_sessions=source.path(source.gateway.client_sessions),
    )
    deployment.root.mkdir(parents=True, exist_ok=True)
    deployment.write_config()
    config = deployment.config()
    out: dict[str, Any] = {
        "orders": orders * rounds,
        "rounds": rounds,
        "flooders": flooders,
        "client": CLIENT[0],
    }
    try:
        for venue in config.venues:
            deployment.start_venue(venue.name)
        deployment.start_gateway(timeout=60)
        time.sleep(1.0)
        driver = _driver(deployment.client_port, root / "client", config)
        if not driver.start(timeout=30):
            raise RuntimeError(f"the load session could not log on ({driver.logout_text})")
        try:
            driver.run(200, 1, wait_done=False, label="warm-up")
            passes: dict[str, list[int]] = {"quiet": [], "control": [], "flooded": []}
            out["flood"] = {"bytes": 0, "connections": 0}
            control_sent = {"bytes": 0, "connections": 0}
            sink_proc, sink_port = _sink()
            try:
                # The three conditions alternate, so a drift of the machine's own load falls
                # on all alike. The control floods the sink instead of the gateway: what the
                # flooding processes cost the two cores by themselves.
                for _ in range(rounds):
                    run = driver.run(orders, 1, wait_done=False, label="quiet")
                    passes["quiet"] += run.latencies_ns
                    for condition, port, into in (
                        ("control", sink_port, control_sent),
                        ("flooded", deployment.client_port, out["flood"]),
                    ):
                        procs = _flooders(port, flooders, 3600)
                        time.sleep(1.0)  # the flood is under way before the first order
                        try:
                            run = driver.run(orders, 1, wait_done=False, label=condition)
                            passes[condition] += run.latencies_ns
                        finally:
                            _stop(procs, into)
            finally:
                sink_proc.terminate()
                sink_proc.wait(10)
            for condition, latencies in passes.items():
                out[condition] = _figures(latencies)
            out["control_flood"] = control_sent
            out["gateway_alive"] = deployment.gateway is not None and (
                deployment.gateway.poll() is None
            )
            out["dropped_connections_journaled"] = sum(
                "without a complete Logon" in r.payload for r in _journal(deployment)
            )
        finally:
            driver.stop()
    finally:
        deployment.stop()
        shutil.rmtree(root, ignore_errors=True)
    return out


def _journal(deployment: LocalDeployment) -> list[Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(deployment.database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT payload FROM journal WHERE kind = 'fix.event'")))
    finally:
        engine.dispose()


def format_figures(out: dict[str, Any]) -> str:
    quiet, control, flooded = out["quiet"], out["control"], out["flooded"]
    lines = [
        hardware_line(),
        f"{out['orders']} orders per condition ({out['rounds']} alternating passes), 1 in flight, "
        f"{out['client']}; flood: {out['flooders']} "
        "process(es) sending 64 KiB blocks without a Logon, reconnecting when closed; "
        "control: the same flood sent to a sink process instead of the gateway",
        "",
        "| ack latency | quiet | control | flooded | flooded - quiet | flooded - control |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, name in (("p50_us", "p50"), ("p99_us", "p99"), ("max_us", "max")):
        lines.append(
            f"| {name} | {quiet[key] / 1000:.2f} ms | {control[key] / 1000:.2f} ms | "
            f"{flooded[key] / 1000:.2f} ms | {(flooded[key] - quiet[key]) / 1000:+.2f} ms | "
            f"{(flooded[key] - control[key]) / 1000:+.2f} ms |"
        )
    lines += [
        "",
        f"flood sent: {out['flood']['bytes'] / 2**20:,.0f} MiB on "
        f"{out['flood']['connections']:,} connections; dropped and journaled by the gateway: "
        f"{out['dropped_connections_journaled']:,}",
        f"gateway alive after the flood: {out['gateway_alive']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qtinfra.tools.flood", description=__doc__)
    parser.add_argument("--orders", type=int, default=1000, help="orders per pass")
    parser.add_argument("--rounds", type=int, default=3, help="quiet + flooded pass pairs")
    parser.add_argument("--flooders", type=int, default=1, help="flooding processes")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--flooder", nargs=2, metavar=("PORT", "SECONDS"), help=argparse.SUPPRESS)
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sink:
        sink()
        return 0
    if args.flooder:
        flood(int(args.flooder[0]), float(args.flooder[1]))
        return 0
    out = measure(args.orders, args.flooders, args.rounds)
    print(json.dumps(out, indent=2) if args.json else format_figures(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
