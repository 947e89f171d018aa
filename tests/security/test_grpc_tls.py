"""Issue 13, item 3 (runtime side of the chart's TLS option): a real service started with TLS
settings answers over TLS only, channels verify it against the configured CA, probes get a
plaintext server that serves health and nothing else, and bot workers get the CA alone."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agentpool_operator import pool, worker_deployment
from agentpool_operator.settings import OperatorSettings
from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import free_port
from omni.routing.service import SPEC as ROUTING
from omni.runtime.auth import Role
from omni.runtime.clients import channel
from omni.runtime.config import ConfigError
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from tests.conftest import StartService
from tests.security.certificates import issue


async def health(chan: grpc.aio.Channel) -> health_pb2.HealthCheckResponse.ServingStatus.ValueType:
    response = await health_pb2_grpc.HealthStub(chan).Check(health_pb2.HealthCheckRequest(), timeout=5)
    return response.status


async def test_a_service_with_tls_settings_is_reachable_only_over_tls(
        start_service: StartService, tmp_path: Path, authority: LocalIssuer) -> None:
    issued = issue(tmp_path / "server")
    stranger = issue(tmp_path / "stranger", ca_name="someone else's CA")
    health_port = free_port()
    host = await start_service(ROUTING, grpc_tls_cert_file=str(issued.cert_file),
                               grpc_tls_key_file=str(issued.key_file), grpc_health_listen=f"127.0.0.1:{health_port}")
    token = authority.mint("tls-test", Role.SERVICE)

    async with channel(host.address, token, tls_ca_file=str(issued.ca_file)) as secure:
        assert await health(secure) == health_pb2.HealthCheckResponse.SERVING
        await routing_pb2_grpc.RoutingServiceStub(secure).ListQueues(routing_pb2.ListQueuesRequest(), timeout=5)

    async with grpc.aio.insecure_channel(host.address) as plaintext:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await health(plaintext)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE

    async with channel(host.address, token, tls_ca_file=str(stranger.ca_file)) as unverified:
        with pytest.raises(grpc.aio.AioRpcError) as untrusted:
            await health(unverified)
    assert untrusted.value.code() == grpc.StatusCode.UNAVAILABLE

    # The kubelet's probe port: plaintext health, and no service behind it.
    async with grpc.aio.insecure_channel(f"127.0.0.1:{health_port}") as probe:
        assert await health(probe) == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.aio.AioRpcError) as hidden:
            await routing_pb2_grpc.RoutingServiceStub(probe).ListQueues(
                routing_pb2.ListQueuesRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=5)
    assert hidden.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_a_certificate_without_its_key_is_a_start_up_error(start_service: StartService, tmp_path: Path) -> None:
    issued = issue(tmp_path)
    with pytest.raises(ConfigError, match="OMNI_GRPC_TLS_KEY_FILE"):
        await start_service(ROUTING, grpc_tls_cert_file=str(issued.cert_file))


def test_workers_get_the_ca_alone_when_the_services_speak_tls() -> None:
    settings = OperatorSettings(worker_tls_secret="omni-grpc-tls")
    agent_pool = pool.parse("billing-bots", "contact", {"queues": ["billing"], "maxReplicas": 2},
                            default_image=settings.worker_image)
    spec = worker_deployment.pod_template(agent_pool, settings)["spec"]
    container = spec["containers"][0]
    assert {"name": "OMNI_GRPC_TLS_CA_FILE", "value": "/etc/omnichannel/grpc-tls/ca.crt"} in container["env"]
    tls = next(v for v in spec["volumes"] if v["name"] == "grpc-tls")
    assert tls["secret"] == {"secretName": "omni-grpc-tls", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    assert {"name": "grpc-tls", "mountPath": "/etc/omnichannel/grpc-tls", "readOnly": True} in container["volumeMounts"]
