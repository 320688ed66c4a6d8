"""The exception hierarchy. Callers catch the subclass they act on differently."""


class QtinfraError(Exception):
    """Root of every error qtinfra raises on purpose."""


class ConfigError(QtinfraError):
    """A configuration file is missing, malformed or inconsistent."""


class ValidationError(QtinfraError):
    """An inbound message or command is invalid; the text says why."""


class RiskRejected(QtinfraError):
    """A pre-trade risk check denied an order."""


class ComplianceRejected(QtinfraError):
    """A compliance check denied an order."""


class VenueUnavailable(QtinfraError):
    """No venue session can take the order."""


class StorageError(QtinfraError):
    """The database could not durably record an event."""


class InvalidTransition(QtinfraError):
    """An order state change the FIX order state matrices do not allow."""
