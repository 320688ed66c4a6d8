"""qtinfra: a FIX order-management gateway."""

__version__ = "0.1.0"
