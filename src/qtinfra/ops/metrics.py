"""Prometheus metrics. Names follow Prometheus conventions (qtinfra_*_total counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

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
FIX_DISCARDED_BYTES = Counter(
    "qtinfra_fix_discarded_bytes_total",
    "Bytes received that are not part of any FIX message (journaled as fix.event "
    "'Discarded N bytes'); session is empty before a Logon is accepted",
    ["session"],
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

# The clock record (ops/clock.py, MiFID II RTS 25): the last reading, in seconds; NaN where
# the source gave no value.
CLOCK_OFFSET = Gauge(
    "qtinfra_clock_offset_seconds",
    "System clock minus UTC as its time source reports it (positive: ahead; NaN: unknown)",
    registry=REGISTRY,
)
CLOCK_MAX_ERROR = Gauge(
    "qtinfra_clock_max_error_seconds",
    "The time source's bound on the clock's error (chrony: |offset| + root dispersion + "
    "root delay / 2; kernel: adjtimex maxerror; NaN: unknown)",
    registry=REGISTRY,
)
CLOCK_EST_ERROR = Gauge(
    "qtinfra_clock_estimated_error_seconds",
    "The time source's estimate of the clock's error (chrony: RMS offset; kernel: adjtimex "
    "esterror; NaN: unknown)",
    registry=REGISTRY,
)
CLOCK_SYNCHRONISED = Gauge(
    "qtinfra_clock_synchronised",
    "1 when the OS reports the clock synchronised to a time source; 0 unsynchronised or unknown",
    registry=REGISTRY,
)
CLOCK_MAX_DIVERGENCE = Gauge(
    "qtinfra_clock_max_divergence_seconds",
    "The maximum divergence from UTC that applies ([clock]: 1 ms, 100 us with hft)",
    registry=REGISTRY,
)
CLOCK_HFT = Gauge(
    "qtinfra_clock_hft",
    "1 when [clock] hft is set (RTS 25 Annex Table 2: high-frequency trading, 100 us)",
    registry=REGISTRY,
)
CLOCK_READ_TIME = Gauge(
    "qtinfra_clock_read_timestamp_seconds",
    "When the clock was last read (Unix time)",
    registry=REGISTRY,
)
CLOCK_SOURCE = Info(
    "qtinfra_clock_source",
    "Where the last clock reading came from: source (chrony, kernel adjtimex, unknown), "
    "state (synchronised, unsynchronised, unknown), reference (chrony's)",
    registry=REGISTRY,
)
