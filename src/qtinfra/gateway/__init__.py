"""The gateway process: wiring the parts from the configuration, the business loop,
operator controls and schedules (wiring.py), and exactly-once recovery at start
(recovery.py)."""

from qtinfra.gateway.wiring import Gateway

__all__ = ["Gateway"]
