"""The one table from domain errors to gRPC status codes, used by the server's interceptors."""

from __future__ import annotations

import grpc

from omni.runtime import errors

# Trailing metadata of an UNAVAILABLE answer naming the replica that serves the call (errors.Elsewhere).
OWNER_METADATA = "omni-owner"

STATUS_CODES: dict[type[errors.DomainError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Conflict: grpc.StatusCode.ABORTED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def status_code(error: errors.DomainError) -> grpc.StatusCode:
    """The code of the nearest mapped class, so a service's own subclass maps like its base."""
    for kind in type(error).__mro__:
        code = STATUS_CODES.get(kind)
        if code is not None:
            return code
    return grpc.StatusCode.UNKNOWN
