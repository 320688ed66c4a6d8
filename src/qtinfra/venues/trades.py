"""A venue's record of its executions, and the trade capture queries that read it.

Every fill the venue reports in an ExecutionReport is kept here, per order, with the same
ExecID, trade id (TrdMatchID), price, time and liquidity. A member that lost some of those
reports (its session reset, or it crashed between reading a message and recording it) asks
with a TradeCaptureReportRequest (AD) for an order's trades and gets a
TradeCaptureReportRequestAck (AQ) then one TradeCaptureReport (AE) per execution, the last
flagged LastRptRequested (912). The simulator keeps the history for as long as its process
runs, as it keeps its books.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from qtinfra.domain.values import Side


@dataclass(frozen=True, slots=True)
class Trade:
    """One execution of a member's order, as the venue reported it."""

    exec_id: str
    trade_id: str
    order_id: str
    symbol: str
    security_id: str | None
    side: Side
    last_qty: Decimal
    last_px: Decimal
    last_mkt: str
    transact_time: datetime
    aggressor: bool
    """The order took liquidity (LastLiquidityInd 2 on the ExecutionReport)."""
    commission: Decimal | None


@dataclass(frozen=True, slots=True)
class TradeQuery:
    """TradeCaptureReportRequest (AD) for one order's trades, by ClOrdID or OrderID."""

    owner: str
    request_id: str
    cl_ord_id: str | None
    order_id: str | None
    symbol: str | None


@dataclass(frozen=True, slots=True)
class TradeQueryAck:
    """TradeCaptureReportRequestAck (AQ): the request accepted with the number of reports
    that follow, or refused with a Text."""

    owner: str
    request_id: str
    symbol: str
    accepted: bool
    total: int
    text: str | None = None


@dataclass(frozen=True, slots=True)
class TradeReport:
    """TradeCaptureReport (AE) of one trade, for the member's order with ClOrdID
    cl_ord_id (its latest); last: the final report of the request."""

    owner: str
    request_id: str
    report_id: str
    cl_ord_id: str
    trade: Trade
    total: int
    last: bool


class TradeHistory:
    """The venue's executions by order, in the order they happened."""

    def __init__(self, id_prefix: str) -> None:
        self._prefix = id_prefix
        self._by_order: dict[str, list[Trade]] = {}
        self._next_report = 0

    def record(self, trade: Trade) -> None:
        self._by_order.setdefault(trade.order_id, []).append(trade)

    def answer(
        self, query: TradeQuery, order_id: str | None, cl_ord_id: str, symbol: str
    ) -> list[TradeQueryAck | TradeReport]:
        """The answer to a query about the member's order order_id (None: the venue does
        not know it for that member): the acknowledgement, then one report per trade."""
        if order_id is None:
            return [
                TradeQueryAck(
                    query.owner,
                    query.request_id,
                    query.symbol or symbol,
                    accepted=False,
                    total=0,
                    text="unknown order",
                )
            ]
        trades = self._by_order.get(order_id, [])
        answer: list[TradeQueryAck | TradeReport] = [
            TradeQueryAck(query.owner, query.request_id, symbol, accepted=True, total=len(trades))
        ]
        for n, trade in enumerate(trades, 1):
            self._next_report += 1
            answer.append(
                TradeReport(
                    owner=query.owner,
                    request_id=query.request_id,
                    report_id=f"{self._prefix}R{self._next_report}",
                    cl_ord_id=cl_ord_id,
                    trade=trade,
                    total=len(trades),
                    last=n == len(trades),
                )
            )
        return answer
