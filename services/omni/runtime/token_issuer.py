"""Minting bearer tokens with a private key: the local issuer (`omni.issuer`, the dev stack,
`omni token`) and the sessions service, for the chat tokens it gives website visitors.

Tokens are JWTs signed with Ed25519 (EdDSA) or RSA (RS256). Whoever checks them needs only the
public half, published as a JWKS (`jwks()`); the key id (`kid`) is the RFC 7638 thumbprint of the
public key, so that a verifier holding several keys (a rotation) picks the right one.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from omni.runtime.auth import Role

# The members of a public JWK that its RFC 7638 thumbprint covers, by key type.
_THUMBPRINT_MEMBERS = {"OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}
# Below this an RSA key is refused (NIST SP 800-57: 2048 bits until 2030).
MIN_RSA_BITS = 2048


class SigningKey:
    """A private key that signs tokens: Ed25519 (EdDSA) or RSA of at least 2048 bits (RS256)."""

    def __init__(self, private: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey) -> None:
        if isinstance(private, rsa.RSAPrivateKey) and private.key_size < MIN_RSA_BITS:
            raise ValueError(f"an RSA signing key needs at least {MIN_RSA_BITS} bits (got {private.key_size})")
        self._private = private
        self.algorithm = "EdDSA" if isinstance(private, ed25519.Ed25519PrivateKey) else "RS256"
        public = (OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
                  if isinstance(private, ed25519.Ed25519PrivateKey)
                  else RSAAlgorithm.to_jwk(private.public_key(), as_dict=True))
        canonical = json.dumps({m: public[m] for m in _THUMBPRINT_MEMBERS[public["kty"]]}, separators=(",", ":"),
                               sort_keys=True)
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).decode().rstrip("=")
        self._public_jwk = {**public, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes, *, source: str = "the key") -> SigningKey:
        try:
            private = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{source} is not an unencrypted PEM private key: {exc}") from None
        if not isinstance(private, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
            raise ValueError(f"{source} is a {type(private).__name__}; tokens are signed with Ed25519 or RSA keys")
        return cls(private)

    @classmethod
    def from_file(cls, path: str | Path) -> SigningKey:
        return cls.from_pem(Path(path).read_bytes(), source=str(path))

    def pem(self) -> bytes:
        return self._private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())

    def public_jwk(self) -> dict[str, Any]:
        return dict(self._public_jwk)

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._private, algorithm=self.algorithm, headers={"kid": self.kid, "typ": "JWT"})


def jwks(keys: Iterable[SigningKey]) -> dict[str, Any]:
    """The JWKS (RFC 7517) publishing the public half of `keys`."""
    return {"keys": [key.public_jwk() for key in keys]}


@dataclasses.dataclass(frozen=True)
class IssuedToken:
    value: str
    # Seconds since the epoch.
    expires_at: float


class TokenIssuer:
    """Mints tokens as issuer `name` with the first of `keys`; all of them are published, so that
    tokens signed with a key being retired stay valid until they expire."""

    def __init__(self, name: str, keys: Sequence[SigningKey], *, clock: Callable[[], float] = time.time) -> None:
        if not keys:
            raise ValueError(f"issuer {name!r} has no signing key")
        self.name = name
        self.keys = tuple(keys)
        self._clock = clock

    @classmethod
    def from_files(cls, name: str, paths: Iterable[str | Path]) -> TokenIssuer:
        return cls(name, [SigningKey.from_file(path) for path in paths])

    def issue(self, subject: str, role: Role, *, audiences: Iterable[str], ttl_seconds: int,
              groups: Iterable[str] = (), session_id: str = "") -> IssuedToken:
        named = sorted(set(audiences))
        if not named:
            raise ValueError("a token names at least one audience (the services it is for)")
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": self.name,
            "sub": subject,
            "aud": named,
            "role": role.value,
            "groups": list(groups),
            "iat": now,
            "exp": now + ttl_seconds,
            # Names this one token in logs and in a denylist, should one ever be needed.
            "jti": secrets.token_urlsafe(12),
        }
        if session_id:
            claims["sid"] = session_id
        return IssuedToken(self.keys[0].sign(claims), now + ttl_seconds)

    def mint(self, subject: str, role: Role, *, audiences: Iterable[str], ttl_seconds: int,
             groups: Iterable[str] = (), session_id: str = "") -> str:
        return self.issue(subject, role, audiences=audiences, ttl_seconds=ttl_seconds, groups=groups,
                          session_id=session_id).value

    def jwks(self) -> dict[str, Any]:
        return jwks(self.keys)
