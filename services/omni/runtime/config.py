"""Configuration from environment variables, one typed settings object per service.

Every variable is prefixed `OMNI_`. A service subclasses `ServiceSettings` to add its own
fields; each field's env name is `OMNI_<FIELD_NAME_UPPER>`. Required fields (no default) fail
at start-up with an error that names the missing variable.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from typing import Any, Self

PREFIX = "OMNI_"
# Shortest secret accepted where one keys an HMAC.
MIN_SECRET_CHARS = 32


class ConfigError(Exception):
    pass


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def _parse(raw: str, kind: Any, name: str) -> Any:
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigError(f"{name}={raw!r} is not a boolean (use true/false)")
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a {kind.__name__}") from None
    if typing.get_origin(kind) in (tuple, list):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        inner = [a for a in typing.get_args(kind) if a is not type(None)]
        return _parse(raw, inner[0], name) if raw else None
    return raw


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    """Settings every service has. Documented in docs/configuration.md."""

    # host:port the gRPC server listens on.
    grpc_listen: str = "127.0.0.1:50051"
    nats_url: str = "nats://127.0.0.1:4222"
    mongo_url: str = "mongodb://127.0.0.1:27017/"
    # Each service owns one database; the default is omnichannel_<service>.
    mongo_database: str = ""
    # Bearer tokens (docs/security.md). The issuer (`iss`) of people's and the platform's tokens, and
    # its public keys: the identity provider's JWKS URL, or a JWKS file. Required by every service.
    token_issuer: str = "omnichannel"
    token_jwks: str = ""
    # The claims naming the caller's role and groups; a dotted path reaches into a nested claim.
    token_role_claim: str = "role"
    token_groups_claim: str = "groups"
    # Public keys of the chat tokens sessions gives website visitors (URL or JWKS file); empty:
    # no visitor's token is accepted.
    chat_token_jwks: str = ""
    # This process's own tokens for its calls to other services: a token endpoint and the client id
    # and secret (from a Secret) it grants them to (OAuth 2.0 client credentials).
    token_url: str = ""
    token_client_id: str = ""
    token_client_secret: str = ""
    # HMAC key the replicas of one service share for what they hand out and read back (page tokens;
    # the web gateway's CSRF tokens). Signs no bearer token. Required by every service.
    replica_secret: str = ""
    # "json" in the cluster, "text" on a terminal.
    log_format: str = "text"
    log_level: str = "INFO"
    # OTLP/gRPC collector endpoint; no traces are exported when empty.
    otlp_endpoint: str = ""
    # Seconds health says NOT_SERVING before the server stops taking RPCs.
    shutdown_delay: float = 1.0
    # Seconds in-flight RPCs get to finish once the server stops.
    shutdown_grace: float = 10.0
    # Largest request the server accepts.
    max_message_bytes: int = 8 * 1024 * 1024
    # Redelivery policy of every durable consumer (runtime/consumer.py). A failure of unknown kind:
    # this many attempts with these pauses, then a dead letter. A transient one (MongoDB or NATS away,
    # a write conflict): retried for as long as it takes, the pause doubling from the first back-off
    # up to the retry cap.
    event_max_attempts: int = 5
    event_backoff_seconds: tuple[str, ...] = ("1", "5", "30")
    event_retry_cap_seconds: float = 30.0
    # An event a consumer took and did not answer comes back this soon (its process died); a live
    # consumer tells the server it is still working on it every third of this.
    event_ack_wait_seconds: float = 6.0
    # What each JetStream stream keeps (0: no limit); events beyond are dropped oldest first, consumed
    # or not. The dead letters' stream has its own. The sum of the byte limits must fit NATS's store.
    event_stream_max_age_seconds: float = 7 * 24 * 3600.0
    event_stream_max_bytes: int = 128 * 1024 * 1024
    dead_letter_max_age_seconds: float = 14 * 24 * 3600.0
    dead_letter_max_bytes: int = 64 * 1024 * 1024
    # How long an event's "processed" record is kept; longer than any stream keeps the event, so
    # a redelivery always finds it.
    processed_events_ttl_seconds: float = 15 * 24 * 3600.0
    # A transaction of this process: write-conflict retries before the event is sent back for later,
    # and the longest it may run. A crashed process's transactions are ended (killSessions) once its
    # lease, renewed every third of this, is this old.
    transaction_conflict_retries: int = 5
    transaction_max_seconds: float = 5.0
    # gRPC over TLS: the PEM certificate chain and key this server presents (both or neither), and
    # the PEM CA bundle its channels verify the other services with; all empty: plaintext.
    grpc_tls_cert_file: str = ""
    grpc_tls_key_file: str = ""
    grpc_tls_ca_file: str = ""
    # host:port of a plaintext server with gRPC health alone, for probes that cannot speak TLS.
    grpc_health_listen: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        environ = os.environ if environ is None else environ
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        missing: list[str] = []
        for field in dataclasses.fields(cls):
            name = env_name(field.name)
            if name in environ:
                values[field.name] = _parse(environ[name], hints[field.name], name)
            elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                missing.append(name)
        if missing:
            raise ConfigError(f"required environment variable(s) not set: {', '.join(missing)}")
        return cls(**values)

    @classmethod
    def field_from_env(cls, field: str, environ: Mapping[str, str] | None = None) -> Any:
        """One setting alone, for values needed at import time (before the rest may be set)."""
        environ = os.environ if environ is None else environ
        spec = next(f for f in dataclasses.fields(cls) if f.name == field)
        name = env_name(field)
        if name in environ:
            return _parse(environ[name], typing.get_type_hints(cls)[field], name)
        if spec.default is dataclasses.MISSING:
            raise ConfigError(f"required environment variable not set: {name}")
        return spec.default

    @classmethod
    def extending(cls, base: ServiceSettings) -> Self:
        """A service's own settings around the shared ones its host was started with.

        The host reads only `ServiceSettings` (tests build hosts from them); a service's own
        fields come from the environment, the shared ones stay as the host has them.
        """
        if isinstance(base, cls):
            return base
        own = cls.from_env()
        shared = {f.name: getattr(base, f.name) for f in dataclasses.fields(ServiceSettings)}
        return dataclasses.replace(own, **shared)

    def shared_replica_secret(self) -> str:
        """The replica secret, refused unless set and long enough to key an HMAC."""
        if len(self.replica_secret) < MIN_SECRET_CHARS:
            raise ConfigError(f"{env_name('replica_secret')} is required: at least {MIN_SECRET_CHARS} random "
                              "characters, the same in every replica of this service")
        return self.replica_secret

    def database_for(self, service: str) -> str:
        return self.mongo_database or f"omnichannel_{service}"

    @property
    def backoff(self) -> tuple[float, ...]:
        return tuple(float(x) for x in self.event_backoff_seconds)

    def processed_events_ttl(self) -> float:
        """The TTL of processed-event records, refused unless it outlasts every stream's events."""
        ages = (self.event_stream_max_age_seconds, self.dead_letter_max_age_seconds)
        if min(ages) <= 0 or self.processed_events_ttl_seconds <= max(ages):
            ttl = env_name("processed_events_ttl_seconds")
            raise ConfigError(f"{ttl}={self.processed_events_ttl_seconds:g} must be longer than the streams keep "
                              f"events ({env_name('event_stream_max_age_seconds')}, "
                              f"{env_name('dead_letter_max_age_seconds')}; neither may be 0), or a redelivered "
                              "event would be handled again")
        return self.processed_events_ttl_seconds
