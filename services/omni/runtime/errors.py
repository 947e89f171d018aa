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


class Elsewhere(Unavailable):
    """Another replica serves this (the owner of a partition): the client should ask it at
    `address` ("" while no replica owns it yet: ask again shortly). The server sends the address
    in the `omni-owner` trailing metadata; `runtime/clients.py` follows it."""

    def __init__(self, message: str, address: str) -> None:
        super().__init__(message)
        self.address = address
