"""The settings services run with in tests, in one place.

Every test gets its own `ServiceSettings` (tests/conftest.py's `settings` fixture: this test's
nats-server, a database of its own); a service with settings of its own type gets those shared
fields through `settings_for`, with test-friendly values for its own where the defaults are
production ones.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Any, TypeVar

from omni.devstack.local_issuer import LocalIssuer
from omni.routing.settings import RoutingSettings
from omni.runtime.config import ServiceSettings
from omni.sessions.settings import SessionSettings
from omni.tickets.settings import TicketSettings

# What the replicas of a test's services share for page tokens (and the gateway for CSRF tokens).
TEST_REPLICA_SECRET = "test-replica-secret-for-the-suite-0123456789"

S = TypeVar("S", bound=ServiceSettings)


def fresh_settings(nats_url: str, mongo_url: str, test_name: str, issuer: LocalIssuer) -> ServiceSettings:
    """Settings pointing at this test's NATS and a fresh database named after the test, trusting
    the suite's local issuer (`issuer`) and its chat token keys."""
    name = re.sub(r"[^a-zA-Z0-9]", "_", test_name)[:40]
    return ServiceSettings(
        grpc_listen="127.0.0.1:0",
        nats_url=nats_url,
        mongo_url=mongo_url,
        mongo_database=f"t_{name}_{uuid.uuid4().hex[:8]}",
        token_jwks=str(issuer.jwks_file),
        chat_token_jwks=str(issuer.chat_jwks_file),
        replica_secret=TEST_REPLICA_SECRET,
        shutdown_delay=0.1,
        shutdown_grace=5.0,
        event_max_attempts=3,
        event_backoff_seconds=("0.05",),
    )


def settings_for(base: ServiceSettings, kind: type[S], *, database: str = "", **changes: Any) -> S:
    """`base`'s shared fields as a `kind` (a service's own settings type), with `changes`.

    `database` gives the service a database of its own next to the test's, as each service has
    in a deployment (needed when several services run in one test)."""
    shared = {f.name: getattr(base, f.name) for f in dataclasses.fields(ServiceSettings)}
    if database:
        shared["mongo_database"] = f"{base.mongo_database}_{database}"
    return kind(**{**shared, **changes})


def routing_settings(base: ServiceSettings, **changes: Any) -> RoutingSettings:
    """Routing with timers checked every 50 ms and a desktop's grace cut to 1 s."""
    return settings_for(base, RoutingSettings, **{"timer_resolution": 0.05, "desktop_grace": 1.0, **changes})


def ticket_settings(base: ServiceSettings, **changes: Any) -> TicketSettings:
    return settings_for(base, TicketSettings, **changes)


def session_settings(base: ServiceSettings, issuer: LocalIssuer, **changes: Any) -> SessionSettings:
    """Sessions signing its visitors' chat tokens with the suite's chat token key."""
    return settings_for(base, SessionSettings, **{"chat_token_key_files": (str(issuer.chat_key_file),), **changes})


__all__ = ["TEST_REPLICA_SECRET", "fresh_settings", "routing_settings", "session_settings", "settings_for",
           "ticket_settings"]
