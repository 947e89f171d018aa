"""Wiring of the local token issuer: settings → keys and clients → routes → one Starlette app."""

from __future__ import annotations

from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from omni.issuer.domain.clients import ClientRegistry
from omni.issuer.routes import IssuerRoutes
from omni.issuer.settings import IssuerSettings
from omni.issuer.usecases import Grants
from omni.runtime.config import ConfigError, env_name
from omni.runtime.token_issuer import TokenIssuer


async def healthy(request: Request) -> Response:
    return PlainTextResponse("ok")


def build_app(settings: IssuerSettings) -> Starlette:
    if not settings.issuer_clients_file:
        raise ConfigError(f"{env_name('issuer_clients_file')} is required: the clients the issuer grants tokens to")
    clients = ClientRegistry.parse(Path(settings.issuer_clients_file).read_text(), settings.issuer_clients_file)
    issuer = TokenIssuer.from_files(settings.token_issuer, settings.issuer_key_files)
    routes = IssuerRoutes(Grants(issuer, clients, ttl_seconds=settings.issuer_token_ttl_seconds),
                          max_request_bytes=settings.issuer_max_request_bytes)
    return Starlette(routes=[*routes.routes(), Route("/healthz", healthy)])


def server(settings: IssuerSettings) -> uvicorn.Server:
    host, _, port = settings.issuer_listen.rpartition(":")
    return uvicorn.Server(uvicorn.Config(build_app(settings), host=host or "0.0.0.0", port=int(port), lifespan="off",
                                         log_config=None, access_log=False,
                                         timeout_graceful_shutdown=int(settings.shutdown_grace)))
