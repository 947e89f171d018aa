"""Checking bearer tokens with public keys: who may sign what, for which audience.

A service trusts two issuers at most (`Trust`): the identity provider (the company's OIDC IdP, or
the local issuer of a dev stack), whose tokens may carry any role, and the sessions service, whose
chat tokens may only be a website visitor's customer token. Their public keys come from a JWKS
(`KeySet`): an https:// URL (fetched, cached, fetched again for a key id it does not know, at most
every `min_refresh_seconds`), a JWKS file (read again likewise: a mounted ConfigMap can change),
or keys the service holds itself. Only public-key algorithms are accepted: a token signed with a
shared secret (HS256) is refused whatever its secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import jwt

from omni.runtime.auth import Principal, Role
from omni.runtime.config import ConfigError, ServiceSettings, env_name
from omni.runtime.errors import Unauthenticated, Unavailable

log = logging.getLogger("omni.auth")

ALGORITHMS = frozenset({"EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
# The issuer (`iss`) of the chat tokens the sessions service gives website visitors.
CHAT_ISSUER = "urn:omnichannel:chat"
# Longest token looked at (a real one is well under 2 KiB) and largest JWKS read.
MAX_TOKEN_CHARS = 8192
MAX_JWKS_BYTES = 1024 * 1024
# When a role claim lists several roles, the first of these it names is the caller's.
_PRECEDENCE = (Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.SERVICE, Role.BOT, Role.CUSTOMER)
# While no key was ever read, a failed read is tried again this soon.
_FIRST_READ_RETRY_SECONDS = 1.0
_FETCH_TIMEOUT_SECONDS = 5.0

Fetch = Callable[[], Awaitable[bytes]]


def parse_jwks(raw: bytes, source: str) -> dict[str, jwt.PyJWK]:
    """The signing keys of a JWKS by key id: public keys of an accepted algorithm, with a `kid`.
    Symmetric (`oct`) keys, encryption keys and keys of other algorithms are left out."""
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"{source} is not JSON: {exc}") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{source} is not a JWKS: it has no 'keys' list")
    found: dict[str, jwt.PyJWK] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") == "oct" or entry.get("use", "sig") != "sig":
            continue
        kid = entry.get("kid")
        try:
            key = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError) as exc:
            log.info("key %r of %s left out: %s", kid, source, exc)
            continue
        if isinstance(kid, str) and kid and key.algorithm_name in ALGORITHMS:
            found[kid] = key
    return found


def _download(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=_FETCH_TIMEOUT_SECONDS) as response:
        body: bytes = response.read(MAX_JWKS_BYTES + 1)
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError(f"{url} answers with more than {MAX_JWKS_BYTES} bytes; not a JWKS")
    return body


def fetcher(source: str) -> Fetch:
    """How to read the JWKS at `source`: an http(s) URL or a file."""
    if source.startswith(("https://", "http://")):
        return lambda: asyncio.to_thread(_download, source)
    path = Path(source)
    return lambda: asyncio.to_thread(path.read_bytes)


class KeySet:
    """Public keys by key id, from `fetch` (read when first needed, again after `max_age_seconds`,
    and for a key id it lacks at most every `min_refresh_seconds`, so that a stream of made-up
    key ids costs one read per interval), or fixed (`of`)."""

    def __init__(self, source: str, fetch: Fetch | None, *, keys: Mapping[str, jwt.PyJWK] | None = None,
                 min_refresh_seconds: float = 30.0, max_age_seconds: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self._fetch = fetch
        self._keys = dict(keys) if keys is not None else None
        self._min_refresh = min_refresh_seconds
        self._max_age = max_age_seconds
        self._clock = clock
        self._tried_at: float | None = None
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def at(cls, source: str, **options: Any) -> KeySet:
        return cls(source, fetcher(source), **options)

    @classmethod
    def of(cls, document: dict[str, Any], source: str) -> KeySet:
        return cls(source, None, keys=parse_jwks(json.dumps(document).encode(), source))

    def _due(self, now: float, *, missing: bool) -> bool:
        if self._fetch is None:
            return False
        if self._tried_at is None:
            return True
        if self._keys is None:
            return now - self._tried_at >= _FIRST_READ_RETRY_SECONDS
        if self._loaded_at is not None and now - self._loaded_at >= self._max_age:
            return now - self._tried_at >= self._min_refresh
        return missing and now - self._tried_at >= self._min_refresh

    async def _read(self, *, missing: bool) -> None:
        async with self._lock:
            now = self._clock()
            if not self._due(now, missing=missing) or self._fetch is None:
                return  # another call read them meanwhile, or it is too soon to ask again
            self._tried_at = now
            try:
                keys = parse_jwks(await self._fetch(), self.source)
            except (OSError, ValueError) as exc:
                if self._keys is None:
                    raise Unavailable(f"cannot read the token signing keys from {self.source}: {exc}") from None
                log.warning("cannot read the token signing keys from %s (%s); keeping the %d known",
                            self.source, exc, len(self._keys))
                return
            self._keys, self._loaded_at = keys, now

    async def key(self, kid: str) -> jwt.PyJWK:
        # With no keys yet, wait for a read under way rather than refuse while it runs.
        if self._keys is None or self._due(self._clock(), missing=False):
            await self._read(missing=False)
        found = (self._keys or {}).get(kid)
        if found is None and self._due(self._clock(), missing=True):
            await self._read(missing=True)
            found = (self._keys or {}).get(kid)
        if found is None:
            if self._keys is None:
                raise Unavailable(f"the token signing keys of {self.source} could not be read; try again shortly")
            raise Unauthenticated(f"token signed with key {kid!r}, which {self.source} does not publish")
        return found


class Trust:
    """An issuer whose tokens a service accepts: its name (`iss`), its keys, the roles its tokens
    may carry, and the claims (a dotted path reaches into a nested one) naming role and groups."""

    def __init__(self, issuer: str, keys: KeySet, roles: Iterable[Role], *, role_claim: str = "role",
                 groups_claim: str = "groups") -> None:
        self.issuer = issuer
        self.keys = keys
        self.roles = frozenset(roles)
        self.role_claim = role_claim
        self.groups_claim = groups_claim

    def role_of(self, claims: Mapping[str, Any]) -> Role:
        value = _claim(claims, self.role_claim)
        named = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        known = {str(v) for v in named} & {r.value for r in Role}
        role = next((r for r in _PRECEDENCE if r.value in known), None)
        if role is None:
            raise Unauthenticated(f"token claim {self.role_claim!r} names no omnichannel role "
                                  f"({', '.join(r.value for r in Role)})")
        if role not in self.roles:
            raise Unauthenticated(f"issuer {self.issuer!r} may not issue {role} tokens")
        return role

    def groups_of(self, claims: Mapping[str, Any]) -> tuple[str, ...]:
        value = _claim(claims, self.groups_claim)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
            raise Unauthenticated(f"token claim {self.groups_claim!r} must be a list of group names")
        return tuple(value)


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


class TokenVerifier:
    """Checks that a token was signed by a trusted issuer's key, is for `audience` and is in date,
    and turns it into the caller's `Principal`."""

    def __init__(self, audience: str, trusts: Iterable[Trust], *, leeway_seconds: float = 30.0) -> None:
        self.audience = audience
        self._trusts = {trust.issuer: trust for trust in trusts}
        self._leeway = leeway_seconds

    def trust(self, trust: Trust) -> None:
        """Accept `trust`'s tokens too (replacing any earlier trust in the same issuer)."""
        self._trusts[trust.issuer] = trust

    async def verify(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthenticated(f"a token is at most {MAX_TOKEN_CHARS} characters")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS:
            raise Unauthenticated(f"token signed with {algorithm!r}; only public-key signatures "
                                  f"({', '.join(sorted(ALGORITHMS))}) are accepted")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("token names no signing key (kid)")
        # Checked again with the signature below; first, so that a token for elsewhere (or from an
        # issuer not trusted here) costs no key lookup.
        issuer, named = unverified.get("iss"), unverified.get("aud")
        if self.audience not in ([named] if isinstance(named, str) else named if isinstance(named, list) else []):
            raise Unauthenticated(f"token is not for {self.audience} (it is for {named!r})")
        trust = self._trusts.get(issuer) if isinstance(issuer, str) else None
        if trust is None:
            raise Unauthenticated(f"tokens of issuer {issuer!r} are not accepted here")
        key = await trust.keys.key(kid)
        if key.algorithm_name != algorithm:
            raise Unauthenticated(f"key {kid!r} signs with {key.algorithm_name}, not {algorithm}")
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm], audience=self.audience, issuer=trust.issuer,
                                leeway=self._leeway, options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired; sign in again") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        return Principal(subject=str(claims["sub"]), role=trust.role_of(claims), groups=trust.groups_of(claims),
                         session_id=str(claims.get("sid", "")))


def identity_trust(settings: ServiceSettings) -> Trust:
    """The identity provider of `settings` (OMNI_TOKEN_*): tokens of any role."""
    if not settings.token_jwks:
        raise ConfigError(f"{env_name('token_jwks')} is required: the URL or file of the JWKS whose keys sign "
                          "the tokens this process accepts")
    return Trust(settings.token_issuer, KeySet.at(settings.token_jwks), Role, role_claim=settings.token_role_claim,
                 groups_claim=settings.token_groups_claim)


def chat_trust(keys: KeySet) -> Trust:
    """The sessions service's chat tokens: a website visitor's customer token, nothing else."""
    return Trust(CHAT_ISSUER, keys, {Role.CUSTOMER})


def verifier_for(settings: ServiceSettings, audience: str) -> TokenVerifier:
    trusts = [identity_trust(settings)]
    if settings.chat_token_jwks:
        if settings.token_issuer == CHAT_ISSUER:
            raise ConfigError(f"{env_name('token_issuer')} must not be {CHAT_ISSUER}, the chat tokens' issuer")
        trusts.append(chat_trust(KeySet.at(settings.chat_token_jwks)))
    return TokenVerifier(audience, trusts)
