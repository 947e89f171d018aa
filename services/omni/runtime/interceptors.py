"""Server interceptors: structured call logs, domain-error mapping and bearer-token auth.

Tracing comes from opentelemetry-instrumentation-grpc (see server.py). Health checking and
reflection are left alone by all three so probes and grpcurl work without a token.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import grpc
from grpc.aio import AbortError

from omni.runtime.auth import Principal, Role, acting_as
from omni.runtime.errors import DomainError, PermissionDenied, Unauthenticated
from omni.runtime.status import status_code
from omni.runtime.token_verifier import TokenVerifier

OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

log = logging.getLogger("omni.rpc")

if TYPE_CHECKING:  # the stubs make these generic; the runtime classes are not subscriptable
    Context = grpc.aio.ServicerContext[Any, Any]
    MethodHandler = grpc.RpcMethodHandler[Any, Any]
else:
    Context = grpc.aio.ServicerContext
    MethodHandler = grpc.RpcMethodHandler
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[MethodHandler | None]]
Behaviour = Callable[[Any, Context], Any]
# Runs `call` (which performs the RPC) with whatever the interceptor adds around it.
Around = Callable[[Context, Callable[[], Awaitable[None]]], Awaitable[None]]


def _wrap(handler: MethodHandler, around: Around) -> MethodHandler:
    """Return `handler` with every behaviour run inside `around`, whatever its streaming kind."""
    if handler.response_streaming:
        kind = "stream_stream" if handler.request_streaming else "unary_stream"
        behaviour: Behaviour = getattr(handler, kind)

        async def streaming(request: Any, context: Context) -> AsyncIterator[Any]:
            # Items are written through the context so that `around` sees the whole call.
            async def call() -> None:
                if inspect.isasyncgenfunction(behaviour):
                    async for item in behaviour(request, context):
                        await context.write(item)
                else:
                    await behaviour(request, context)

            await around(context, call)
            return
            yield  # makes this an async generator, as grpc.aio expects for streams

        return handler._replace(**{kind: streaming})  # type: ignore[attr-defined, no-any-return]

    kind = "stream_unary" if handler.request_streaming else "unary_unary"
    behaviour = getattr(handler, kind)

    async def unary(request: Any, context: Context) -> Any:
        result: list[Any] = []

        async def call() -> None:
            result.append(await behaviour(request, context))

        await around(context, call)
        return result[0] if result else None

    return handler._replace(**{kind: unary})  # type: ignore[attr-defined, no-any-return]


class _AroundInterceptor(grpc.aio.ServerInterceptor):
    """Runs every RPC (except health and reflection) inside `around`."""

    def around(self, details: grpc.HandlerCallDetails) -> Around:
        raise NotImplementedError

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> MethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(OPEN_PREFIXES):
            return handler
        return _wrap(handler, self.around(handler_call_details))


class ErrorMappingInterceptor(_AroundInterceptor):
    """Domain errors become status codes with their message; surprises become INTERNAL."""

    def around(self, details: grpc.HandlerCallDetails) -> Around:
        method = details.method

        async def around(context: Context, call: Callable[[], Awaitable[None]]) -> None:
            try:
                await call()
            except DomainError as exc:
                await context.abort(status_code(exc), exc.message)
            except (AbortError, grpc.RpcError):
                raise
            except Exception:
                log.exception("unhandled error in %s", method)
                await context.abort(grpc.StatusCode.INTERNAL, f"internal error in {method}; see the service log")

        return around


class LoggingInterceptor(_AroundInterceptor):
    """One structured line per call: method, status code, duration."""

    def around(self, details: grpc.HandlerCallDetails) -> Around:
        method = details.method

        async def around(context: Context, call: Callable[[], Awaitable[None]]) -> None:
            started = time.perf_counter()
            try:
                await call()
            finally:
                code = context.code() or grpc.StatusCode.OK
                level = logging.WARNING if code in _SERVER_FAULTS else logging.INFO
                log.log(
                    level,
                    "rpc %s %s",
                    method,
                    getattr(code, "name", code),
                    extra={"duration_ms": round((time.perf_counter() - started) * 1000, 2)},
                )

        return around


_SERVER_FAULTS = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAVAILABLE}


def _bearer_token(metadata: Any) -> str | None:
    for key, value in metadata or ():
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = text.partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class AuthInterceptor(_AroundInterceptor):
    """Bearer-token authentication and per-method role checks (fail closed).

    `rules` maps a full method name ("/pkg.Service/Method") to the roles allowed to call it;
    a method without a rule is refused, so a new RPC cannot ship open by accident.
    """

    def __init__(self, verifier: TokenVerifier, rules: Mapping[str, frozenset[Role]]) -> None:
        self._verifier = verifier
        self._rules = rules

    async def authenticate(self, method: str, metadata: Any) -> Principal:
        token = _bearer_token(metadata)
        if token is None:
            raise Unauthenticated(f"{method} needs an 'authorization: Bearer <token>' header")
        principal = await self._verifier.verify(token)
        allowed = self._rules.get(method)
        if allowed is None:
            raise PermissionDenied(f"{method} has no access rule; refusing by default")
        if principal.role not in allowed:
            roles = ", ".join(sorted(allowed))
            raise PermissionDenied(f"role '{principal.role}' may not call {method}; allowed: {roles}")
        return principal

    def around(self, details: grpc.HandlerCallDetails) -> Around:
        method = details.method
        metadata = details.invocation_metadata

        async def around(context: Context, call: Callable[[], Awaitable[None]]) -> None:
            try:
                principal = await self.authenticate(method, metadata)
            except DomainError as exc:
                await context.abort(status_code(exc), exc.message)
            with acting_as(principal):
                await call()

        return around

