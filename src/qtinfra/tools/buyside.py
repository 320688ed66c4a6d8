"""A small buy-side FIX client on QuickFIX: what `qtinfra client`, the tests and the
benchmark use to talk to the gateway exactly as a client's OMS would."""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import quickfix as fix

from qtinfra.domain.values import utc_now
from qtinfra.fix import wire
from qtinfra.fix.wire import fmt_decimal, fmt_time

TAG_NAMES = {
    1: "Account",
    6: "AvgPx",
    11: "ClOrdID",
    14: "CumQty",
    15: "Currency",
    17: "ExecID",
    22: "SecurityIDSource",
    30: "LastMkt",
    31: "LastPx",
    32: "LastQty",
    34: "MsgSeqNum",
    35: "MsgType",
    37: "OrderID",
    38: "OrderQty",
    39: "OrdStatus",
    40: "OrdType",
    41: "OrigClOrdID",
    44: "Price",
    45: "RefSeqNum",
    48: "SecurityID",
    54: "Side",
    55: "Symbol",
    58: "Text",
    59: "TimeInForce",
    60: "TransactTime",
    102: "CxlRejReason",
    103: "OrdRejReason",
    150: "ExecType",
    151: "LeavesQty",
    372: "RefMsgType",
    373: "SessionRejectReason",
    380: "BusinessRejectReason",
    434: "CxlRejResponseTo",
}


@dataclass
class ClientSessionConfig:
    """Where and as whom the client logs on."""

    sender_comp_id: str = "CLIENT1"
    target_comp_id: str = "QTGW"
    host: str = "127.0.0.1"
    port: int = 9876
    begin_string: str = "FIX.4.4"
    username: str | None = "client1"
    password: str | None = "client1-demo-pass"
    data_dictionary: Path | None = None
    transport_dictionary: Path | None = None
    store_dir: Path = Path("var/client")
    reset_on_logon: bool = True
    heartbeat: int = 30
    extra: dict[str, str] = field(default_factory=dict)

    def render(self) -> str:
        lines = [
            "[DEFAULT]",
            "ConnectionType=initiator",
            "ReconnectInterval=1",
            "StartTime=00:00:00",
            "EndTime=00:00:00",
            f"HeartBtInt={self.heartbeat}",
            f"FileStorePath={self.store_dir}",
            "SocketNodelay=Y",
            f"ResetOnLogon={'Y' if self.reset_on_logon else 'N'}",
            "TimeStampPrecision=6",
            "",
            "[SESSION]",
            f"BeginString={self.begin_string}",
            f"SenderCompID={self.sender_comp_id}",
            f"TargetCompID={self.target_comp_id}",
            f"SocketConnectHost={self.host}",
            f"SocketConnectPort={self.port}",
        ]
        if self.begin_string == "FIXT.1.1":
            lines.append("DefaultApplVerID=FIX.5.0SP2")
            if self.transport_dictionary and self.data_dictionary:
                lines += [
                    "UseDataDictionary=Y",
                    f"TransportDataDictionary={self.transport_dictionary}",
                    f"AppDataDictionary={self.data_dictionary}",
                ]
            else:
                lines.append("UseDataDictionary=N")
        elif self.data_dictionary:
            lines += ["UseDataDictionary=Y", f"DataDictionary={self.data_dictionary}"]
        else:
            lines.append("UseDataDictionary=N")
        lines += [f"{k}={v}" for k, v in self.extra.items()]
        return "\n".join(lines) + "\n"


def fields_of(message: fix.Message) -> dict[int, str]:
    """Header and body fields of a message by tag, split as QuickFIX parsed it (fix/wire.py;
    repeating groups flattened, last wins)."""
    out: dict[int, str] = {}
    for tag, value in wire.split(message.toString()):
        out[tag] = value
    return out


def describe(message: fix.Message) -> str:
    """One readable line: tag names and values."""
    f = fields_of(message)
    keep = [35, 11, 41, 37, 150, 39, 55, 54, 38, 44, 32, 31, 30, 14, 151, 6, 103, 102, 58, 372]
    return " ".join(f"{TAG_NAMES.get(t, t)}={f[t]}" for t in keep if t in f)


class _App(fix.Application):  # type: ignore[misc]
    def __init__(self, client: BuySideClient) -> None:
        super().__init__()
        self.client = client

    def onCreate(self, session_id: fix.SessionID) -> None:
        self.client.session_id = session_id

    def onLogon(self, session_id: fix.SessionID) -> None:
        self.client.logged_on.set()

    def onLogout(self, session_id: fix.SessionID) -> None:
        self.client.logged_on.clear()

    def toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        try:
            if message.getHeader().getField(35) == "A":
                cfg = self.client.config
                if cfg.username is not None:
                    message.setField(553, cfg.username)
                if cfg.password is not None:
                    message.setField(554, cfg.password)
                if cfg.begin_string == "FIXT.1.1":
                    message.setField(1137, "9")
            self.client.sent_raw.append(message.toString())
        except Exception:  # never let an exception escape a QuickFIX callback
            pass

    def fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        try:
            self.client.received_raw.append(message.toString())
            msg_type = message.getHeader().getField(35)
            if msg_type in ("5", "3"):
                self.client.admin.put(fix.Message(message))
        except Exception:
            pass

    def toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        try:
            if message.isSetField(11) and message.getField(11) in self.client.poss_dup_ids:
                # An application resend (FIX 4.4 Vol 2: PossDupFlag with OrigSendingTime);
                # QuickFIX clears both in Session::send, so they are set here.
                header = message.getHeader()
                header.setField(43, "Y")
                header.setField(122, header.getField(52))
            self.client.sent_raw.append(message.toString())
        except Exception:
            pass

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        try:
            self.client.received_raw.append(message.toString())
            callback = self.client.on_message
            if callback is not None:
                callback(message)
            else:
                self.client.inbox.put(fix.Message(message))
        except Exception:
            pass


class BuySideClient:
    """A QuickFIX initiator with helpers to send orders and read the answers."""

    def __init__(
        self,
        config: ClientSessionConfig,
        on_message: Callable[[fix.Message], None] | None = None,
    ) -> None:
        self.config = config
        self.on_message = on_message
        self.inbox: queue.Queue[fix.Message] = queue.Queue()
        self.admin: queue.Queue[fix.Message] = queue.Queue()
        self.logged_on = threading.Event()
        self.received_raw: list[str] = []
        # Messages as handed to QuickFIX for sending (toString() once the header is final).
        self.sent_raw: list[str] = []
        self.poss_dup_ids: set[str] = set()
        self.session_id: fix.SessionID | None = None
        self._ids = itertools.count(1)
        self._id_prefix = f"{config.sender_comp_id}-{int(time.time() * 1000)}-"
        self._initiator: fix.SocketInitiator | None = None

    def next_cl_ord_id(self) -> str:
        return f"{self._id_prefix}{next(self._ids)}"

    def start(self, wait: float | None = 10.0) -> bool:
        cfg = self.config
        cfg.store_dir.mkdir(parents=True, exist_ok=True)
        path = cfg.store_dir / f"{cfg.sender_comp_id}.cfg"
        path.write_text(cfg.render())
        settings = fix.SessionSettings(str(path))
        self._initiator = fix.SocketInitiator(_App(self), fix.FileStoreFactory(settings), settings)
        self._initiator.start()
        if wait is None:
            return True
        return self.logged_on.wait(wait)

    def stop(self) -> None:
        if self._initiator is not None:
            self._initiator.stop()
            self._initiator = None

    def resend_as_poss_dup(self, cl_ord_id: str, message: fix.Message) -> None:
        """Send message again with PossDupFlag=Y, as an OMS re-sending an order would."""
        self.poss_dup_ids.add(cl_ord_id)
        self.send(message)

    def send(self, message: fix.Message) -> None:
        assert self.session_id is not None
        fix.Session.sendToTarget(message, self.session_id)

    def new_order(
        self,
        symbol: str | None,
        side: str,
        quantity: Decimal | str | int,
        price: Decimal | str | None = None,
        *,
        cl_ord_id: str | None = None,
        ord_type: str | None = None,
        tif: str | None = "0",
        isin: str | None = None,
        account: str | None = None,
        extra: dict[int, str] | None = None,
    ) -> str:
        cl_ord_id = cl_ord_id or self.next_cl_ord_id()
        msg = fix.Message()
        msg.getHeader().setField(35, "D")
        msg.setField(11, cl_ord_id)
        if symbol is not None:
            msg.setField(55, symbol)
        if isin is not None:
            msg.setField(48, isin)
            msg.setField(22, "4")
        msg.setField(54, side)
        msg.setField(38, fmt_decimal(Decimal(quantity)))
        msg.setField(40, ord_type or ("2" if price is not None else "1"))
        if price is not None:
            msg.setField(44, fmt_decimal(Decimal(price)))
        if tif is not None:
            msg.setField(59, tif)
        if account is not None:
            msg.setField(1, account)
        msg.setField(60, fmt_time(utc_now()))
        for tag, value in (extra or {}).items():
            msg.setField(tag, value)
        self.send(msg)
        return cl_ord_id

    def cancel(
        self,
        orig_cl_ord_id: str | None,
        symbol: str,
        side: str,
        quantity: Decimal | str | int,
        cl_ord_id: str | None = None,
        order_id: str | None = None,
    ) -> str:
        """OrderCancelRequest by OrigClOrdID, or (FIX 5.0SP2) by OrderID alone."""
        cl_ord_id = cl_ord_id or self.next_cl_ord_id()
        msg = fix.Message()
        msg.getHeader().setField(35, "F")
        msg.setField(11, cl_ord_id)
        if orig_cl_ord_id is not None:
            msg.setField(41, orig_cl_ord_id)
        if order_id is not None:
            msg.setField(37, order_id)
        msg.setField(55, symbol)
        msg.setField(54, side)
        msg.setField(38, fmt_decimal(Decimal(quantity)))
        msg.setField(60, fmt_time(utc_now()))
        self.send(msg)
        return cl_ord_id

    def replace(
        self,
        orig_cl_ord_id: str,
        symbol: str,
        side: str,
        quantity: Decimal | str | int,
        price: Decimal | str | None,
        *,
        ord_type: str = "2",
        tif: str = "0",
        cl_ord_id: str | None = None,
    ) -> str:
        cl_ord_id = cl_ord_id or self.next_cl_ord_id()
        msg = fix.Message()
        msg.getHeader().setField(35, "G")
        msg.setField(11, cl_ord_id)
        msg.setField(41, orig_cl_ord_id)
        msg.setField(55, symbol)
        msg.setField(54, side)
        msg.setField(38, fmt_decimal(Decimal(quantity)))
        msg.setField(40, ord_type)
        if price is not None:
            msg.setField(44, fmt_decimal(Decimal(price)))
        msg.setField(59, tif)
        msg.setField(60, fmt_time(utc_now()))
        self.send(msg)
        return cl_ord_id

    def status(
        self,
        cl_ord_id: str | None,
        symbol: str,
        side: str,
        *,
        order_id: str | None = None,
        status_req_id: str | None = None,
    ) -> None:
        """OrderStatusRequest by ClOrdID, or (FIX 5.0SP2) by OrderID alone."""
        msg = fix.Message()
        msg.getHeader().setField(35, "H")
        if cl_ord_id is not None:
            msg.setField(11, cl_ord_id)
        if order_id is not None:
            msg.setField(37, order_id)
        if status_req_id is not None:
            msg.setField(790, status_req_id)
        msg.setField(55, symbol)
        msg.setField(54, side)
        self.send(msg)

    def next_message(self, timeout: float = 10.0) -> dict[int, str]:
        """The next application message received, as fields by tag."""
        return fields_of(self.inbox.get(timeout=timeout))

    def wait_for(
        self, predicate: Callable[[dict[int, str]], bool], timeout: float = 10.0
    ) -> dict[int, str]:
        """Skip messages until one matches (the skipped ones are lost to later calls)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no matching message arrived")
            f = self.next_message(remaining)
            if predicate(f):
                return f
