"""The callers the issuer grants tokens to, and what each may be granted.

A client is one of the platform's own processes (routing, the operator, the bot workers): it
proves itself with its secret (the issuer keeps only the secret's SHA-256) and gets a token of its
one role for one of its audiences at a time, so a stolen client secret is worth no more than that.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from omni.runtime.auth import Role, audience
from omni.runtime.errors import PermissionDenied, Unauthenticated

# The platform's own callers and what they may be granted: routing asks tickets and knowledge for
# the screen pop, the operator and supervision read routing's queue statistics, the bot workers serve bot work.
# The dev stack registers these; the chart's issuer registers the same (tests/charts compare).
PLATFORM_CLIENTS: dict[str, tuple[Role, frozenset[str]]] = {
    "routing": (Role.SERVICE, frozenset({audience("tickets"), audience("knowledge")})),
    # Sessions asks tickets for a caller's accessibility needs while the call starts.
    "sessions": (Role.SERVICE, frozenset({audience("tickets")})),
    "agentpool-operator": (Role.SERVICE, frozenset({audience("routing")})),
    # The reports service reads the stored contacts and routing's follow-ups.
    "reports": (Role.SERVICE, frozenset({audience("sessions"), audience("routing")})),
    # Supervision reads routing's queues, agents, work and statistics for the floor and queue alerts.
    "supervision": (Role.SERVICE, frozenset({audience("routing")})),
    "bot-worker": (Role.BOT, frozenset({audience("sessions"), audience("routing"), audience("knowledge")})),
}


@dataclasses.dataclass(frozen=True)
class Client:
    id: str
    secret_sha256: str
    role: Role
    audiences: frozenset[str]
    groups: tuple[str, ...] = ()

    def check_audience(self, audience: str) -> None:
        if audience not in self.audiences:
            raise PermissionDenied(f"client {self.id} may not get tokens for {audience!r}; "
                                   f"its audiences: {', '.join(sorted(self.audiences))}")


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ClientRegistry:
    def __init__(self, clients: Mapping[str, Client]) -> None:
        self._clients = dict(clients)

    @classmethod
    def parse(cls, text: str, source: str) -> ClientRegistry:
        """`{"clients": {"<id>": {"secret_sha256": hex, "role": "...", "audiences": [...], "groups": [...]}}}`"""
        try:
            document: Any = json.loads(text)
            entries = document["clients"]
            clients = {
                client_id: Client(client_id, str(entry["secret_sha256"]).lower(), Role(entry["role"]),
                                  frozenset(str(a) for a in entry["audiences"]),
                                  tuple(str(g) for g in entry.get("groups", ())))
                for client_id, entry in entries.items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{source} is not a client list ({type(exc).__name__}: {exc})") from None
        for client in clients.values():
            if len(client.secret_sha256) != 64 or not client.audiences:
                raise ValueError(f"{source}: client {client.id} needs a hex secret_sha256 and at least one audience")
        return cls(clients)

    def authenticate(self, client_id: str, secret: str) -> Client:
        """The client `client_id` if `secret` is its secret; the same refusal for an unknown client
        and a wrong secret, so the answer does not tell which client ids exist."""
        client = self._clients.get(client_id)
        expected = client.secret_sha256 if client is not None else "0" * 64
        if not hmac.compare_digest(secret_digest(secret), expected) or client is None:
            raise Unauthenticated("unknown client or wrong secret")
        return client
