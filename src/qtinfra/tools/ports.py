"""TCP ports for the processes of a local deployment (tests, benchmark)."""

from __future__ import annotations

import os
import socket

# Ports handed out by this process. The kernel's bind-to-0 may hand the same port out twice in
# a row, and any port in the ephemeral range (/proc/sys/net/ipv4/ip_local_port_range, 32768 and
# up) can be taken by an outgoing connection (a venue initiator, a PostgreSQL client) between
# the check and the listen. So ports come from below that range, each at most once per process,
# starting at a point that depends on the pid so two test processes rarely walk the same ports.
_PORT_LOW, _PORT_HIGH = 20000, 32000
_handed_out: set[int] = set()
_next_port = _PORT_LOW + (os.getpid() * 97) % (_PORT_HIGH - _PORT_LOW)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now, never handed out before by this process, and
    outside the kernel's ephemeral range (so no outgoing connection takes it meanwhile)."""
    global _next_port
    for _ in range(_PORT_HIGH - _PORT_LOW):
        port = _next_port
        _next_port = _PORT_LOW + (_next_port + 1 - _PORT_LOW) % (_PORT_HIGH - _PORT_LOW)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))  # no SO_REUSEADDR: a port in TIME_WAIT is skipped too
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free TCP port in {_PORT_LOW}-{_PORT_HIGH} on {host}")
