"""The gateway as a client of services that serve gRPC over TLS (the chart's grpcTls option): it
verifies them against OMNI_GRPC_TLS_CA_FILE, and cannot be talked into trusting another CA."""

from __future__ import annotations

from pathlib import Path

from omni.devstack.local_issuer import LocalIssuer
from omni.routing.service import SPEC as ROUTING
from omni.runtime.auth import Role
from omni.runtime.config import ServiceSettings
from omni.web.service import running
from omni.web.settings import WebSettings
from tests.conftest import StartService
from tests.security.certificates import issue
from tests.support.settings import settings_for
from tests.web.client import Browser


async def test_the_gateway_reaches_tls_services_with_the_configured_ca_only(
        start_service: StartService, settings: ServiceSettings, authority: LocalIssuer, tmp_path: Path) -> None:
    issued = issue(tmp_path / "server")
    stranger = issue(tmp_path / "stranger", ca_name="someone else's CA")
    routing = await start_service(ROUTING, grpc_tls_cert_file=str(issued.cert_file),
                                  grpc_tls_key_file=str(issued.key_file))
    token = authority.mint("S-1", Role.SUPERVISOR)
    for ca, expected in ((issued.ca_file, 200), (stranger.ca_file, 503)):
        web = settings_for(settings, WebSettings, grpc_tls_ca_file=str(ca), web_listen="127.0.0.1:0",
                           web_cookie_secure=False, routing_addr=routing.address, web_rpc_timeout=3.0)
        async with running(web) as gateway:
            # Sign-in asks routing for the agent record: the first call over the channel.
            signed_in = await Browser(f"http://127.0.0.1:{gateway.port}").sign_in(token)
            assert signed_in.status == expected, signed_in.body
