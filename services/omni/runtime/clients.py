"""gRPC channels to other services: tracing and a bearer token on every call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from omni.runtime.errors import DomainError
from omni.runtime.status import status_code
from omni.runtime.token_source import TokenSource


class _Token:
    """Adds `authorization: Bearer` to a call (insecure channels cannot carry call credentials)."""

    def __init__(self, token: TokenSource) -> None:
        self._token = token

    async def _with_token(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        try:
            token = await self._token()
        except DomainError as exc:
            # As the call's own failure, so that callers handle one kind of error (UNAVAILABLE, say).
            raise grpc.aio.AioRpcError(status_code(exc), grpc.aio.Metadata(), grpc.aio.Metadata(),
                                       exc.message) from None
        metadata = [m for m in (details.metadata or ()) if m[0] != "authorization"]
        metadata.append(("authorization", f"Bearer {token}"))
        return details._replace(metadata=grpc.aio.Metadata(*metadata))  # type: ignore[attr-defined, no-any-return]


# One object per call kind: grpc.aio.Channel files each interceptor under the *first* kind it
# implements (an if/elif chain), so a single four-way interceptor would leave every streaming
# call (AgentSession, WatchPosition, ...) without its token.
class _UnaryUnaryToken(_Token, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(await self._with_token(details), request)


class _UnaryStreamToken(_Token, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(await self._with_token(details), request)


class _StreamUnaryToken(_Token, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation: Any, details: Any, request_iterator: Any) -> Any:
        return await continuation(await self._with_token(details), request_iterator)


class _StreamStreamToken(_Token, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation: Any, details: Any, request_iterator: Any) -> Any:
        return await continuation(await self._with_token(details), request_iterator)


def channel(address: str, token: str | TokenSource | None = None, *, tls_ca_file: str = "") -> grpc.aio.Channel:
    """A channel with tracing and the token (a fixed one, or a source asked before every call, such
    as a `RefreshingToken`): over TLS, verifying the server against the PEM CA bundle `tls_ca_file`
    (OMNI_GRPC_TLS_CA_FILE), when one is given; plaintext otherwise."""
    interceptors: list[Any] = list(aio_client_interceptors())  # type: ignore[no-untyped-call]
    if token is not None:
        source = token if callable(token) else _fixed(token)
        interceptors.extend(kind(source) for kind in (_UnaryUnaryToken, _UnaryStreamToken, _StreamUnaryToken,
                                                      _StreamStreamToken))
    if tls_ca_file:
        credentials = grpc.ssl_channel_credentials(root_certificates=Path(tls_ca_file).read_bytes())
        return grpc.aio.secure_channel(address, credentials, interceptors=interceptors)
    return grpc.aio.insecure_channel(address, interceptors=interceptors)


def _fixed(token: str) -> TokenSource:
    async def fixed() -> str:
        return token

    return fixed
