"""gRPC channels to other services: tracing and a bearer token on every call; unary calls follow a
partitioned service to the replica that serves them, and streams do through `following_stream`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from omni.runtime.errors import DomainError
from omni.runtime.status import OWNER_METADATA, status_code
from omni.runtime.token_source import TokenSource

# How long a unary call keeps following owners while a partition is taken over, and the waits
# between tries when no replica owns it yet.
FOLLOW_PATIENCE = 15.0
FOLLOW_BACKOFF = (0.05, 0.1, 0.2, 0.4, 0.8, 1.0)
T_co = TypeVar("T_co", covariant=True)
Req = TypeVar("Req")
Resp = TypeVar("Resp")


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


def owner_of(error: grpc.aio.AioRpcError) -> str | None:
    """The replica an UNAVAILABLE answer sends the caller to ("" : none yet, ask again shortly);
    None when the answer is not such a redirect."""
    if error.code() != grpc.StatusCode.UNAVAILABLE:
        return None
    for key, value in error.trailing_metadata() or ():
        if key == OWNER_METADATA:
            return str(value)
    return None


class _Following:
    """A unary-unary method that retries where the service's answer says the owner is."""

    def __init__(self, channel: FollowingChannel, method: str, serializer: Any, deserializer: Any) -> None:
        self._channel = channel
        self._method = method
        self._serializer = serializer
        self._deserializer = deserializer

    # `timeout` is the name gRPC stubs pass the deadline by.
    async def __call__(self, request: Any, *, timeout: float | None = None, **kwargs: Any) -> Any:  # noqa: ASYNC109
        started = time.monotonic()
        address = self._channel.home
        tries = 0
        while True:
            remaining = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
            call = self._channel.to(address).unary_unary(self._method, self._serializer, self._deserializer)
            try:
                return await call(request, timeout=remaining, **kwargs)
            except grpc.aio.AioRpcError as exc:
                owner = owner_of(exc)
                spent = time.monotonic() - started
                if owner is None or spent > FOLLOW_PATIENCE or (timeout is not None and spent >= timeout):
                    raise
                if not owner or owner == address:
                    await asyncio.sleep(FOLLOW_BACKOFF[min(tries, len(FOLLOW_BACKOFF) - 1)])
                    tries += 1
                address = owner or self._channel.home


class _Stream(Protocol[T_co]):
    """A streaming call (server or bidirectional) as grpc.aio returns it."""

    def __aiter__(self) -> AsyncIterator[T_co]: ...

    def cancel(self) -> bool: ...


async def following_stream(chan: grpc.aio.Channel, open_call: Callable[[grpc.aio.Channel], _Stream[T_co]],
                           ) -> AsyncIterator[T_co]:
    """The responses of a stream opened by `open_call(channel)`, followed to the replica that
    serves it: when the service answers with a redirect (`UNAVAILABLE` naming the owner), or the
    stream ends with one because its partition moved, the stream is opened again there (with
    back-off while no replica owns it, and back at the channel's address when the replica it was
    sent to is gone), for up to FOLLOW_PATIENCE after the last response. `open_call` runs again
    for each attempt, so it makes a fresh request; a bidirectional stream's requests go through
    `fed`, so that each attempt stops reading them when its call ends."""
    if not isinstance(chan, FollowingChannel):
        stream = open_call(chan)
        try:
            async for response in stream:
                yield response
        finally:
            stream.cancel()
        return
    address = chan.home
    tries = 0
    last = time.monotonic()
    while True:
        stream = open_call(chan.to(address))
        try:
            async for response in stream:
                tries, last = 0, time.monotonic()
                yield response
            return
        except grpc.aio.AioRpcError as exc:
            owner = owner_of(exc)
            lost = exc.code() == grpc.StatusCode.UNAVAILABLE and address != chan.home
            if (owner is None and not lost) or time.monotonic() - last > FOLLOW_PATIENCE:
                raise
            if not owner or owner == address:
                await asyncio.sleep(FOLLOW_BACKOFF[min(tries, len(FOLLOW_BACKOFF) - 1)])
                tries += 1
            address = owner or chan.home
        finally:
            stream.cancel()


def fed(call: grpc.aio.StreamStreamCall[Req, Resp], first: Req,
        requests: asyncio.Queue[Req | None]) -> grpc.aio.StreamStreamCall[Req, Resp]:
    """`call`, writing `first` and then, once the service answered it (a redirect ends the call
    instead), what `requests` holds (None: done writing) while the call lasts. Reading stops when
    the call ends, so the call opened next (after a redirect) gets the rest; a request iterator
    would instead be left waiting on the queue, taking the next one."""

    async def feed() -> None:
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
            await call.write(first)
            await call.initial_metadata()
            if call.done():
                return
            while (request := await requests.get()) is not None:
                await call.write(request)
            await call.done_writing()

    feeding = asyncio.create_task(feed(), name="stream requests")

    def ended(_: object) -> None:
        feeding.cancel()

    call.add_done_callback(ended)
    return call


class FollowingChannel(grpc.aio.Channel):
    """A channel to a service address whose unary calls follow `omni-owner` redirects to other
    replicas (channels to them are made alike and kept); streams go to the address as given,
    unless opened through `following_stream`."""

    def __init__(self, home: str, make: Callable[[str], grpc.aio.Channel]) -> None:
        self.home = home
        self._make = make
        self._channels: dict[str, grpc.aio.Channel] = {home: make(home)}

    def to(self, address: str) -> grpc.aio.Channel:
        found = self._channels.get(address)
        if found is None:
            found = self._channels[address] = self._make(address)
        return found

    def unary_unary(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                    _registered_method: bool | None = False) -> Any:
        return _Following(self, method, request_serializer, response_deserializer)

    def unary_stream(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                     _registered_method: bool | None = False) -> Any:
        return self.to(self.home).unary_stream(method, request_serializer, response_deserializer)

    def stream_unary(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                     _registered_method: bool | None = False) -> Any:
        return self.to(self.home).stream_unary(method, request_serializer, response_deserializer)

    def stream_stream(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                      _registered_method: bool | None = False) -> Any:
        return self.to(self.home).stream_stream(method, request_serializer, response_deserializer)

    async def close(self, grace: float | None = None) -> None:
        for channel in self._channels.values():
            await channel.close(grace)

    async def __aenter__(self) -> FollowingChannel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self.to(self.home).get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self.to(self.home).wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self.to(self.home).channel_ready()


def channel(address: str, token: str | TokenSource | None = None, *, tls_ca_file: str = "") -> grpc.aio.Channel:
    """A channel with tracing and the token (a fixed one, or a source asked before every call, such
    as a `RefreshingToken`): over TLS, verifying the server against the PEM CA bundle `tls_ca_file`
    (OMNI_GRPC_TLS_CA_FILE), when one is given; plaintext otherwise. Unary calls follow a
    partitioned service to the replica that serves them (`FollowingChannel`)."""
    return FollowingChannel(address, lambda target: _plain_channel(target, token, tls_ca_file))


def _plain_channel(address: str, token: str | TokenSource | None, tls_ca_file: str) -> grpc.aio.Channel:
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
