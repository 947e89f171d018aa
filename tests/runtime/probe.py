"""A tiny service for runtime tests: raw-bytes methods registered with a generic handler."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc
from pymongo import IndexModel

from omni.runtime import storage
from omni.runtime.auth import STAFF, Role, current_principal
from omni.runtime.errors import NotFound
from omni.runtime.server import Runtime, ServiceSpec

SERVICE = "omnichannel.test.Probe"
# Every Slow call that reached the method, so a test can wait for its call to be in flight.
SLOW_STARTED: list[bytes] = []


def method(name: str) -> str:
    return f"/{SERVICE}/{name}"


def _raw(fn):  # type: ignore[no-untyped-def]
    return grpc.unary_unary_rpc_method_handler(fn, request_deserializer=None, response_serializer=None)


async def register(server: grpc.aio.Server, runtime: Runtime) -> Sequence[str]:
    async def whoami(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        principal = current_principal()
        return f"{principal.subject}:{principal.role}".encode()

    async def slow(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        SLOW_STARTED.append(request)
        await asyncio.sleep(float(request.decode() or "1"))
        return b"finished"

    async def missing(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        raise NotFound(f"ticket {request.decode()} does not exist; check the number")

    async def crash(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        raise RuntimeError("boom")

    async def publish(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        from google.protobuf.wrappers_pb2 import StringValue

        envelope = await runtime.bus.publish("tickets", "probed", "probe/1", StringValue(value=request.decode()))
        return envelope.id.encode()

    async def bump(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        doc_id, version = request.decode().split(":")
        made = await storage.update_versioned(
            runtime.db["docs"], {"_id": doc_id}, int(version), {"$set": {"touched": True}}, what=f"doc {doc_id}"
        )
        return str(made).encode()

    handlers = {"WhoAmI": whoami, "Slow": slow, "Missing": missing, "Crash": crash, "Publish": publish, "Bump": bump}
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(SERVICE, {name: _raw(fn) for name, fn in handlers.items()})]
    )
    return [SERVICE]


ACCESS = {
    method("WhoAmI"): STAFF,
    method("Slow"): STAFF,
    method("Missing"): STAFF,
    method("Crash"): STAFF,
    method("Publish"): STAFF,
    # Only supervisors and admins bump documents: exercises PERMISSION_DENIED for agents.
    method("Bump"): frozenset({Role.SUPERVISOR, Role.ADMIN}),
}

SPEC = ServiceSpec(
    name="probe",
    register=register,
    access_rules=ACCESS,
    indexes={"docs": [IndexModel("touched")]},
)


async def call(address: str, name: str, payload: bytes, metadata: Sequence[tuple[str, str]] = (),
               deadline: float = 10.0) -> bytes:
    async with grpc.aio.insecure_channel(address) as channel:
        rpc = channel.unary_unary(method(name))
        result: bytes = await rpc(payload, metadata=tuple(metadata), timeout=deadline)
        return result
