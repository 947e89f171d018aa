"""HTTP ↔ the issuer's use cases: the OAuth 2.0 token endpoint (RFC 6749 §4.4, errors as §5.2)
and the JWKS."""

from __future__ import annotations

import base64
import binascii
import time
import urllib.parse

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from omni.issuer.usecases import Grants
from omni.runtime.errors import PermissionDenied, Unauthenticated

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
JWKS_PATH = "/.well-known/jwks.json"
TOKEN_PATH = "/token"


def _error(status: int, error: str, description: str) -> JSONResponse:
    headers = {**NO_STORE, **({"WWW-Authenticate": 'Basic realm="omnichannel"'} if status == 401 else {})}
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        pair = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = pair.partition(":")
    return (urllib.parse.unquote(client_id), urllib.parse.unquote(secret)) if colon else None


class IssuerRoutes:
    def __init__(self, grants: Grants, *, max_request_bytes: int) -> None:
        self._grants = grants
        self._max_request = max_request_bytes

    async def token(self, request: Request) -> Response:
        credentials = _basic(request.headers.get("authorization", ""))
        if credentials is None:
            return _error(401, "invalid_client", "authenticate with HTTP Basic: client id and secret")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > self._max_request:
                return _error(413, "invalid_request", f"a token request is at most {self._max_request} bytes")
        form = urllib.parse.parse_qs(body.decode(errors="replace"))
        if form.get("grant_type") != ["client_credentials"]:
            return _error(400, "unsupported_grant_type", "only grant_type=client_credentials is offered")
        audiences = form.get("audience", [])
        if len(audiences) != 1:
            return _error(400, "invalid_request", "name one audience, e.g. audience=omnichannel.tickets")
        try:
            issued = self._grants.token(*credentials, audiences[0])
        except Unauthenticated as exc:
            return _error(401, "invalid_client", exc.message)
        except PermissionDenied as exc:
            return _error(400, "invalid_target", exc.message)
        return JSONResponse({"access_token": issued.value, "token_type": "Bearer",
                             "expires_in": max(1, int(issued.expires_at - time.time()))}, headers=NO_STORE)

    async def keys(self, request: Request) -> Response:
        # Verifiers cache them and ask again for a key id they do not know: a short max-age suffices.
        return JSONResponse(self._grants.jwks(), headers={"Cache-Control": "public, max-age=300"})

    def routes(self) -> list[BaseRoute]:
        return [Route(TOKEN_PATH, self.token, methods=["POST"]), Route(JWKS_PATH, self.keys, methods=["GET"])]
