"""Checks every service's access table makes: each RPC of its protos has a rule, and none
answers a caller without a token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import grpc
from google.protobuf.descriptor import FileDescriptor

from omni.runtime.auth import Role


def rpc_names(proto: FileDescriptor) -> set[str]:
    """Full method names ("/pkg.Service/Method") of every RPC the proto file declares."""
    return {f"/{service.full_name}/{method.name}" for service in proto.services_by_name.values()
            for method in service.methods}


def assert_table_matches_protos(access: Mapping[str, frozenset[Role]], proto: FileDescriptor) -> None:
    """No RPC left without a rule (it would be refused to everyone) and no rule for a misspelt method."""
    declared = rpc_names(proto)
    assert sorted(declared - set(access)) == [], "RPCs without an access rule"
    assert sorted(set(access) - declared) == [], "access rules naming no RPC"


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""


async def assert_every_rpc_needs_a_token(address: str, proto: FileDescriptor) -> None:
    """Call every RPC of `proto` with no token (an empty message, or no message on a stream)."""
    async with grpc.aio.insecure_channel(address) as channel:
        for service in proto.services_by_name.values():
            for method in service.methods:
                name = f"/{service.full_name}/{method.name}"
                call: grpc.aio.Call
                if method.client_streaming and method.server_streaming:
                    call = channel.stream_stream(name)(_nothing(), timeout=5)
                elif method.client_streaming:
                    call = channel.stream_unary(name)(_nothing(), timeout=5)
                elif method.server_streaming:
                    call = channel.unary_stream(name)(b"", timeout=5)
                else:
                    call = channel.unary_unary(name)(b"", timeout=5)
                code = await asyncio.wait_for(call.code(), 10)
                details = await call.details()
                assert code == grpc.StatusCode.UNAUTHENTICATED, f"{name} without a token: {code} {details}"
                assert "Bearer" in details, f"{name}: {details}"
