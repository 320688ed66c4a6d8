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
    "business (BusinessMessageReject), logon (Logon refused)",
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
