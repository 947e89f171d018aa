"""Settings of the local token issuer (OMNI_* environment variables)."""

from __future__ import annotations

import dataclasses

from omni.runtime.config import ConfigError, ServiceSettings, env_name


@dataclasses.dataclass(frozen=True, kw_only=True)
class IssuerSettings(ServiceSettings):
    # host:port of the issuer's HTTP server (/token and /.well-known/jwks.json).
    issuer_listen: str = "127.0.0.1:8090"
    # PEM private keys (Ed25519 or RSA), from a Secret: the first signs, all are published. To
    # rotate, add the new key second, make it first once every verifier has read it, and drop the
    # old one after the longest token lifetime.
    issuer_key_files: tuple[str, ...] = ()
    # JSON file of the clients the issuer grants tokens to: id, SHA-256 of its secret, role, audiences.
    issuer_clients_file: str = ""
    # Lifetime of a granted token; callers fetch the next one before it ends.
    issuer_token_ttl_seconds: int = 600
    # Largest token request body.
    issuer_max_request_bytes: int = 4096

    def __post_init__(self) -> None:
        if not self.issuer_key_files:
            raise ConfigError(f"{env_name('issuer_key_files')} is required: the PEM private key(s) the issuer "
                              "signs with")
        if not 0 < self.issuer_token_ttl_seconds <= 24 * 3600:
            raise ConfigError(f"{env_name('issuer_token_ttl_seconds')}={self.issuer_token_ttl_seconds} must be "
                              "between 1 and 86400")
