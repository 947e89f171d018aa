"""Domain errors: plain exceptions that domain and use-case code raise.

They know nothing of gRPC; `runtime/status.py` maps each to a status code in one table. Messages
are written for the person who reads them: say what is wrong and what to do.
"""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    """The request itself is wrong; sending it again will not help."""


class NotFound(DomainError):
    pass


class AlreadyExists(DomainError):
    pass


class FailedPrecondition(DomainError):
    """The resource is not in a state that allows this (e.g. a closed ticket)."""


class Conflict(DomainError):
    """A concurrent writer changed the resource first (stale version): re-read and retry."""


class PermissionDenied(DomainError):
    pass


class Unauthenticated(DomainError):
    pass


class ResourceExhausted(DomainError):
    """A limit was reached (rate, size, capacity)."""


class Unavailable(DomainError):
    """A dependency is down for now; retrying later may succeed."""
