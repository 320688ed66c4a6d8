"""Prometheus metrics. Names follow Prometheus conventions (qtinfra_*_total counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

ORDERS = Counter(
    "qtinfra_orders_total", "Client orders accepted (ExecType New)", ["session"], registry=REGISTRY
)
EXECUTIONS = Counter(
    "qtinfra_executions_total", "Fills reported to clients", ["venue"], registry=REGISTRY
)
REJECTS = Counter(
    "qtinfra_rejects_total",
    "Rejections sent to clients: order (ExecType Rejected), cancel (OrderCancelReject), "
    "business (BusinessMessageReject), session (session-level Reject), logon (Logon refused), "
    "dispatch (an event that could not be sent)",
    ["kind"],
    registry=REGISTRY,
)
FIX_MESSAGES = Counter(
    "qtinfra_fix_messages_total",
    "FIX messages per session and direction (in/out), admin messages included",
    ["session", "direction"],
    registry=REGISTRY,
)
SESSION_LOGGED_ON = Gauge(
    "qtinfra_session_logged_on",
    "1 while the session is logged on",
    ["session", "kind"],
    registry=REGISTRY,
)
JOURNAL_COMMITS = Counter(
    "qtinfra_journal_commits_total", "Group commits of the journal", registry=REGISTRY
)
JOURNAL_BATCH = Histogram(
    "qtinfra_journal_batch_rows",
    "Journal rows per group commit",
    buckets=(1, 5, 10, 50, 100, 500, 1000, 5000),
    registry=REGISTRY,
)
RISK_REJECTS = Counter(
    "qtinfra_risk_rejects_total",
    "Orders, replaces and cancels refused by a pre-trade check, by check",
    ["check"],
    registry=REGISTRY,
)
RISK_SECONDS = Histogram(
    "qtinfra_risk_check_seconds",
    "Time the pre-trade check chain takes per order or replace",
    buckets=(5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 5e-3),
    registry=REGISTRY,
)
