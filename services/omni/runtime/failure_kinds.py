"""What kind of failure an exception is, for whoever decides to retry it: the event consumers
(`runtime/consumer.py`) and the transactions of `runtime/storage.py`.

- TRANSIENT: a dependency is away or busy (a MongoDB fail-over, NATS reconnecting, a peer
  UNAVAILABLE, a write conflict). Trying again later succeeds once it is back, however long that
  takes, so it is retried with capped back-off for as long as it takes and never dead-lettered.
- PERMANENT: the event itself is wrong (undecodable, invalid, over a size limit). No retry can
  help: it is dead-lettered at once.
- UNKNOWN: anything else (a bug, an unexpected answer). Retried a bounded number of times, then
  dead-lettered with its error, so that it can be looked at and replayed after a fix.
"""

from __future__ import annotations

import asyncio
import enum

import grpc
import nats.errors
import nats.js.errors
from google.protobuf.message import DecodeError
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    ExecutionTimeout,
    NetworkTimeout,
    NotPrimaryError,
    PyMongoError,
    ServerSelectionTimeoutError,
    WaitQueueTimeoutError,
    WTimeoutError,
)

from omni.runtime import errors


class FailureKind(enum.Enum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    UNKNOWN = "unknown"


class PermanentError(Exception):
    """The event can never be handled (bad data, unknown reference): dead-letter it now."""


class TransientError(Exception):
    """A dependency is away or busy; the same work will succeed later: retry it for as long as it takes."""


class Contended(TransientError):
    """A write conflict outlasted its retries: some document is held (by a slow or dead writer).
    Only the work that touches it waits; other work done together with it may pass alone."""


_MONGO_TRANSIENT = (AutoReconnect, ConnectionFailure, NetworkTimeout, NotPrimaryError, ServerSelectionTimeoutError,
                    WaitQueueTimeoutError, WTimeoutError, ExecutionTimeout)
_NATS_TRANSIENT = (nats.errors.TimeoutError, nats.errors.NoServersError, nats.errors.ConnectionClosedError,
                   nats.errors.ConnectionReconnectingError, nats.errors.ConnectionDrainingError,
                   nats.errors.FlushTimeoutError, nats.errors.OutboundBufferLimitError, nats.errors.NoRespondersError,
                   nats.errors.StaleConnectionError, nats.errors.UnexpectedEOF, nats.js.errors.ServiceUnavailableError,
                   nats.js.errors.NoStreamResponseError, nats.js.errors.FetchTimeoutError)
_GRPC_TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                             grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED})
_PERMANENT = (PermanentError, DecodeError, errors.InvalidArgument, nats.errors.MaxPayloadError)
# Errors the server labels so: a transaction to run again from its start, a commit to send again.
TRANSIENT_LABELS = ("TransientTransactionError", "UnknownTransactionCommitResult", "RetryableWriteError")


def classify(exc: BaseException) -> FailureKind:
    """The kind of `exc`, looking through the exceptions it was raised from."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = _own_kind(current)
        if kind is not FailureKind.UNKNOWN:
            return kind
        current = current.__cause__ or current.__context__
    return FailureKind.UNKNOWN


def _own_kind(exc: BaseException) -> FailureKind:
    if isinstance(exc, _PERMANENT):
        return FailureKind.PERMANENT
    if isinstance(exc, (TransientError, errors.Unavailable, errors.Conflict, *_MONGO_TRANSIENT, *_NATS_TRANSIENT)):
        return FailureKind.TRANSIENT
    if isinstance(exc, PyMongoError) and any(exc.has_error_label(label) for label in TRANSIENT_LABELS):
        return FailureKind.TRANSIENT
    if isinstance(exc, grpc.aio.AioRpcError) and exc.code() in _GRPC_TRANSIENT:
        return FailureKind.TRANSIENT
    # The network under any client: refused, reset, timed out.
    if isinstance(exc, (ConnectionError, TimeoutError, asyncio.TimeoutError)):
        return FailureKind.TRANSIENT
    return FailureKind.UNKNOWN


__all__ = ["TRANSIENT_LABELS", "Contended", "FailureKind", "PermanentError", "TransientError", "classify"]
