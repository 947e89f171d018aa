"""A process's own bearer tokens for calling another service: short-lived, one per audience,
fetched from a token endpoint with OAuth 2.0 client credentials and fetched again before expiry.

Routing (screen pops at tickets and knowledge), the operator (queue statistics at routing) and the
bot workers hold no signing key: they hold a client id and secret of the token endpoint (the
chart's issuer, or the company's identity provider), which grants them only their own role and
audiences, for minutes at a time.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable

from omni.runtime.auth import audience
from omni.runtime.config import ConfigError, ServiceSettings, env_name
from omni.runtime.errors import Unavailable
from omni.runtime.token_issuer import IssuedToken

log = logging.getLogger("omni.auth")

# A token's value as a gRPC client interceptor asks for it (see clients.channel).
TokenSource = Callable[[], Awaitable[str]]
_FETCH_TIMEOUT_SECONDS = 5.0
_MAX_RESPONSE_BYTES = 64 * 1024


class RefreshingToken:
    """The current token from `fetch`, fetched again once less than a quarter of its lifetime (and
    at least `margin_seconds`) is left, so a call never carries one about to expire. A failed fetch
    while the current token is still valid keeps it and tries again after `retry_seconds`."""

    def __init__(self, fetch: Callable[[], Awaitable[IssuedToken]], *, what: str, margin_seconds: float = 30.0,
                 retry_seconds: float = 5.0, clock: Callable[[], float] = time.time) -> None:
        self._fetch = fetch
        self._what = what
        self._margin = margin_seconds
        self._retry = retry_seconds
        self._clock = clock
        self._token: IssuedToken | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def __call__(self) -> str:
        if self._token is None or self._clock() >= self._renew_at:
            async with self._lock:
                if self._token is None or self._clock() >= self._renew_at:
                    await self._renew()
        assert self._token is not None
        return self._token.value

    async def _renew(self) -> None:
        fetched_at = self._clock()
        try:
            token = await self._fetch()
        except Unavailable as exc:
            if self._token is None or fetched_at >= self._token.expires_at:
                raise Unavailable(f"no token for {self._what}: {exc.message}") from None
            log.warning("cannot renew the token for %s (%s); using the current one until %s", self._what,
                        exc.message, time.strftime("%H:%M:%S", time.localtime(self._token.expires_at)))
            self._renew_at = fetched_at + self._retry
            return
        lifetime = token.expires_at - fetched_at
        self._token = token
        self._renew_at = token.expires_at - max(self._margin, lifetime / 4)


class ClientCredentials:
    """OAuth 2.0 client credentials (RFC 6749 §4.4) at `url`: a token for `audience` (the
    `audience` request parameter; an identity provider that ignores it must put the audience in the
    client's tokens by its own configuration). The client authenticates with HTTP Basic (§2.3.1)."""

    def __init__(self, url: str, client_id: str, client_secret: str, audience: str, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._url = url
        self._audience = audience
        pair = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(client_secret, safe='')}"
        self._authorization = "Basic " + base64.b64encode(pair.encode()).decode()
        self._clock = clock

    def _post(self) -> tuple[int, bytes]:
        body = urllib.parse.urlencode({"grant_type": "client_credentials", "audience": self._audience}).encode()
        request = urllib.request.Request(self._url, data=body, method="POST", headers={
            "Authorization": self._authorization, "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=_FETCH_TIMEOUT_SECONDS) as response:
                return response.status, response.read(_MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as refused:
            with refused:
                return refused.code, refused.read(_MAX_RESPONSE_BYTES)

    async def __call__(self) -> IssuedToken:
        asked_at = self._clock()
        try:
            status, raw = await asyncio.to_thread(self._post)
        except OSError as exc:
            raise Unavailable(f"token endpoint {self._url} unreachable: {exc}") from None
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise Unavailable(f"token endpoint {self._url} answered {status} without a JSON object")
        if status != 200:
            # RFC 6749 §5.2: error and error_description; never echo what we sent.
            raise Unavailable(f"token endpoint {self._url} refused ({status} {answer.get('error', '')}: "
                              f"{answer.get('error_description', '')})")
        token, lifetime = answer.get("access_token"), answer.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(lifetime, int | float) or lifetime <= 0:
            raise Unavailable(f"token endpoint {self._url} answered without access_token and expires_in")
        return IssuedToken(token, asked_at + float(lifetime))


def service_token(settings: ServiceSettings, service: str) -> RefreshingToken:
    """This process's refreshing token for calls to `service` ("tickets", ...), from the token
    endpoint and client credentials of `settings` (OMNI_TOKEN_URL, OMNI_TOKEN_CLIENT_ID/_SECRET)."""
    missing = [env_name(f) for f in ("token_url", "token_client_id", "token_client_secret") if not getattr(settings, f)]
    if missing:
        raise ConfigError(f"calls to {service} need a token of this process's own: set {', '.join(missing)}")
    fetch = ClientCredentials(settings.token_url, settings.token_client_id, settings.token_client_secret,
                              audience(service))
    return RefreshingToken(fetch, what=f"{service} (client {settings.token_client_id})")
