"""gRPC runtime: auth, error mapping, health and graceful shutdown, against a real server."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from omni.runtime.auth import Role, bearer
from omni.runtime.token_issuer import SigningKey, TokenIssuer
from tests.runtime import probe
from tests.support.polling import eventually


async def test_valid_token_reaches_the_method_with_its_principal(start_service, token_for) -> None:
    host = await start_service(probe.SPEC)
    reply = await probe.call(host.address, "WhoAmI", b"", token_for(Role.AGENT, "A-7"))
    assert reply == b"A-7:agent"


@pytest.mark.parametrize(
    ("metadata", "code", "fragment"),
    [
        ((), grpc.StatusCode.UNAUTHENTICATED, "Bearer"),
        ((("authorization", "Bearer not-a-jwt"),), grpc.StatusCode.UNAUTHENTICATED, "invalid token"),
        ((("authorization", "Basic dXNlcjpwYXNz"),), grpc.StatusCode.UNAUTHENTICATED, "Bearer"),
    ],
)
async def test_missing_or_bad_token_is_unauthenticated(start_service, metadata, code, fragment) -> None:
    host = await start_service(probe.SPEC)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await probe.call(host.address, "WhoAmI", b"", metadata)
    assert err.value.code() == code
    assert fragment in (err.value.details() or "")


async def test_token_signed_with_another_key_or_expired_is_rejected(start_service, authority) -> None:
    host = await start_service(probe.SPEC)
    audiences = ["omnichannel.probe"]
    forged = TokenIssuer(authority.issuer.name, [SigningKey.generate()]).mint("A-1", Role.ADMIN, audiences=audiences,
                                                                              ttl_seconds=600)
    expired = authority.mint("A-1", Role.ADMIN, audiences=audiences, ttl_seconds=-60)
    for token, fragment in ((forged, "does not publish"), (expired, "expired")):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await probe.call(host.address, "WhoAmI", b"", bearer(token))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert fragment in (err.value.details() or "")


async def test_wrong_role_is_permission_denied_and_names_allowed_roles(start_service, token_for) -> None:
    host = await start_service(probe.SPEC)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await probe.call(host.address, "Bump", b"d1:0", token_for(Role.AGENT))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "supervisor" in (err.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await probe.call(host.address, "WhoAmI", b"", token_for(Role.CUSTOMER))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_method_without_access_rule_is_refused(start_service, token_for) -> None:
    spec = probe.SPEC.__class__(name="probe", register=probe.register, access_rules={})
    host = await start_service(spec)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await probe.call(host.address, "WhoAmI", b"", token_for(Role.ADMIN))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "no access rule" in (err.value.details() or "")


async def test_domain_errors_map_to_status_codes_and_crashes_to_internal(start_service, token_for) -> None:
    host = await start_service(probe.SPEC)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await probe.call(host.address, "Missing", b"T-9", token_for(Role.AGENT))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert err.value.details() == "ticket T-9 does not exist; check the number"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await probe.call(host.address, "Crash", b"", token_for(Role.AGENT))
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert "boom" not in (err.value.details() or "")  # internals are logged, not leaked


async def test_health_and_reflection_need_no_token(start_service) -> None:
    host = await start_service(probe.SPEC)
    async with grpc.aio.insecure_channel(host.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service=probe.SERVICE))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = [s.name async for r in responses for s in r.list_services_response.service]
        assert probe.SERVICE in names and "grpc.health.v1.Health" in names


async def test_shutdown_flips_health_and_lets_in_flight_rpc_finish(start_service, token_for) -> None:
    host = await start_service(probe.SPEC, shutdown_delay=0.6, shutdown_grace=5.0)
    calls = len(probe.SLOW_STARTED)
    in_flight = asyncio.create_task(probe.call(host.address, "Slow", b"1.5", token_for(Role.AGENT)))

    async def slow_calls() -> int:
        return len(probe.SLOW_STARTED)

    await eventually(slow_calls, lambda n: n > calls, what="the slow call running on the server")
    started = time.monotonic()
    stopping = asyncio.create_task(host.stop())
    async with grpc.aio.insecure_channel(host.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        await eventually(lambda: health.Check(health_pb2.HealthCheckRequest(service="")),
                         lambda reply: reply.status == health_pb2.HealthCheckResponse.NOT_SERVING,
                         what="health NOT_SERVING once the server is stopping")
    assert await in_flight == b"finished"
    await stopping
    assert time.monotonic() - started < 5.0
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await probe.call(host.address, "WhoAmI", b"", token_for(Role.AGENT), deadline=1.0)
    assert err.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
