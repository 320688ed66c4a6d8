"""`python -m qtinfra.tools.demo_day [--out DIR]`: a trading day that exercises the MiFID II
reports, traded over FIX through a whole deployment, and its reports.

Starts the three venue processes and the gateway (SQLite in a temporary folder) with four
more client records beside the demo's ACC1 and ACC2: DEAL1, dealt with on own account
(OrderCapacity P, DEAL); MTCH1, matched as riskless principal (R, MTCH), deciding itself;
FUND1, a fund whose manager decides (decision_maker_lei); SHORT1, which flags its short
sales and holds AAPL. CLIENT1 may trade for all of them. The day: buys for DEAL1, MTCH1
and FUND1; a venue killed and started again; the client logging out and on again with its
sequence numbers; then SHORT1 selling long (Side 2) and short (Side 5) and ACC1 selling
long. Every order fills. Then it runs the RTS 22 check, writes the day's RTS 22 file and
RTS 24 records into DIR (default var/demo-day) and prints what the check found (nothing, when
all is well) and where the files are.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from qtinfra.config import PROJECT_ROOT
from qtinfra.tools.buyside import BuySideClient, ClientSessionConfig
from qtinfra.tools.deployment import LocalDeployment, wait_until

DEAL_LEI = "98450012DEMODEAL1X85"
MTCH_LEI = "98450012DEMOMTCH1X29"
FUND_LEI = "98450012DEMOFUND1X39"
MANAGER_LEI = "98450012DEMOMGR01X48"
SHORT_LEI = "98450012DEMOSHRT1X30"

ACCOUNTS = f'''
[[account]]
account = "DEAL1"
name = "Demo Corporate Treasury Ltd"
kind = "legal"
lei = "{DEAL_LEI}"
decision_maker = {{ id = "1001", source = "P", qualifier = 24 }}
executing_trader = {{ id = "2001", source = "P", qualifier = 22 }}
order_capacity = "P"             # the firm deals with it on own account (DEAL)

[[account]]
account = "MTCH1"
name = "Demo Pension Scheme"
kind = "legal"
lei = "{MTCH_LEI}"
executing_trader = {{ id = "2001", source = "P", qualifier = 22 }}
order_capacity = "R"             # matched principal (MTCH); the client decides
decides = "client"

[[account]]
account = "FUND1"
name = "Demo Global Equity Fund"
kind = "legal"
lei = "{FUND_LEI}"
executing_trader = {{ id = "2001", source = "P", qualifier = 22 }}
order_capacity = "A"
decides = "third_party"          # its manager decides (RTS 22 field 12)
decision_maker_lei = "{MANAGER_LEI}"

[[account]]
account = "SHORT1"
name = "Demo Long-Short Partners"
kind = "legal"
lei = "{SHORT_LEI}"
executing_trader = {{ id = "2001", source = "P", qualifier = 22 }}
order_capacity = "A"
decides = "client"
flags_short_sales = true         # its Side 2 is a long sale, Side 5 a short sale
'''

POSITIONS = """
[[position]]
account = "SHORT1"
symbol = "AAPL"
quantity = "1000"
"""

RISK = """
[[client]]
account = "SHORT1"
short_selling = true             # may sell short (Side 5)
"""

DONE = ("2", "4", "8", "C")


def config_files() -> dict[str, str]:
    """The demo's accounts, clients, positions and limits with the day's four clients."""
    config = PROJECT_ROOT / "config"
    clients = (
        (config / "clients.toml")
        .read_text()
        .replace(
            'account = "ACC1"\n',
            'account = "ACC1"\naccounts = ["DEAL1", "MTCH1", "FUND1", "SHORT1"]\n',
            1,
        )
    )
    return {
        "accounts.toml": (config / "accounts.toml").read_text() + ACCOUNTS,
        "clients.toml": clients,
        "positions.toml": (config / "positions.toml").read_text() + POSITIONS,
        "risk.toml": (config / "risk.toml").read_text() + RISK,
    }


def filled(client: BuySideClient, cl_ord_id: str, timeout: float = 15.0) -> dict[int, str]:
    """The order's last report once it is done; raises unless it filled."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        msg = client.next_message(left)
        if msg.get(11) == cl_ord_id and msg.get(39) in DONE:
            if msg[39] != "2":
                raise RuntimeError(f"order {cl_ord_id} ended {msg.get(39)}: {msg.get(58)}")
            return msg
    raise TimeoutError(f"order {cl_ord_id} did not fill")


def trade(deployment: LocalDeployment, client: BuySideClient) -> dict[str, str]:
    """The day's orders (see the module docstring), each filled; ClOrdIDs by name."""
    orders: dict[str, str] = {}

    def order(name: str, side: str, qty: int, price: str, account: str) -> None:
        orders[name] = client.new_order("AAPL", side, qty, Decimal(price), account=account)
        filled(client, orders[name])

    order("deal_buy", "1", 120, "191", "DEAL1")
    order("mtch_buy", "1", 80, "191", "MTCH1")
    order("fund_buy", "1", 150, "191", "FUND1")
    # A venue drops and comes back; the client reconnects keeping its sequence numbers.
    deployment.stop_venue("TRQ", signal.SIGKILL)
    if not wait_until(lambda: not _logged_on(deployment, "TRQ"), 10):
        raise RuntimeError("the gateway did not see TRQ go")
    deployment.start_venue("TRQ")
    if not wait_until(deployment.venues_ready, 30):
        raise RuntimeError("TRQ did not come back")
    client.stop()
    if not client.start():
        raise RuntimeError("the client could not log on again")
    order("short_long_sell", "2", 60, "189", "SHORT1")
    order("short_sell", "5", 40, "189", "SHORT1")
    order("acc1_long_sell", "2", 70, "189", "ACC1")
    time.sleep(1.0)  # the last reports are journaled as sent with the next commit
    return orders


def _logged_on(deployment: LocalDeployment, venue: str) -> bool:
    return any(r["session"].endswith(f">{venue}") and r["logged_on"] for r in deployment.sessions())


def client_for(deployment: LocalDeployment, store: Path) -> BuySideClient:
    """CLIENT1, keeping its sequence numbers across a reconnection."""
    return BuySideClient(
        ClientSessionConfig(
            port=deployment.client_port,
            data_dictionary=PROJECT_ROOT / "fix_specs" / "FIX44.xml",
            store_dir=store,
            reset_on_logon=False,
        )
    )


def run(out: Path) -> int:
    from qtinfra.reports.rts22 import generate_rts22
    from qtinfra.reports.rts22_check import check_rts22
    from qtinfra.reports.rts24 import run_rts24
    from qtinfra.store.db import make_engine

    root = Path(tempfile.mkdtemp(prefix="qtinfra-demo-day-"))
    deployment = LocalDeployment(
        root / "gateway", f"sqlite:///{root / 'qtinfra.db'}", files=config_files()
    )
    deployment.root.mkdir(parents=True, exist_ok=True)
    deployment.write_config()
    try:
        for venue in deployment.config().venues:
            deployment.start_venue(venue.name)
        deployment.start_gateway(timeout=60)
        client = client_for(deployment, root / "client")
        if not client.start(30):
            raise RuntimeError("CLIENT1 could not log on")
        try:
            start = datetime.now(UTC)
            orders = trade(deployment, client)
        finally:
            client.stop()
        config = deployment.config()
        day = datetime.now(UTC).date()
        engine = make_engine(config.database_url)
        try:
            check = check_rts22(config, engine, day)
            report: Any = generate_rts22(config, engine, day, out)
        finally:
            engine.dispose()
        for line in check.lines():
            print(line)
        print(f"{len(orders)} orders: " + ", ".join(f"{k} {v}" for k, v in orders.items()))
        for line in report.summary():
            print(line)
        rts24 = out / day.isoformat() / f"rts24-{day.isoformat()}.csv"
        run_rts24(config, start.replace(microsecond=0), datetime.now(UTC), "csv", rts24)
        print(f"RTS 24 order records: {rts24}")
        return 0 if not check.problems else 2
    finally:
        deployment.stop()
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qtinfra.tools.demo_day", description=__doc__)
    parser.add_argument(
        "--out", default="var/demo-day", help="reports folder (default var/demo-day)"
    )
    args = parser.parse_args(argv)
    try:
        return run(Path(args.out).resolve())
    except (RuntimeError, TimeoutError) as exc:
        print(f"demo day: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
