"""What a caller can do at the issuer: get a token (client credentials), read the public keys."""

from __future__ import annotations

from typing import Any

from omni.issuer.domain.clients import ClientRegistry
from omni.runtime.token_issuer import IssuedToken, TokenIssuer


class Grants:
    def __init__(self, issuer: TokenIssuer, clients: ClientRegistry, *, ttl_seconds: int) -> None:
        self._issuer = issuer
        self._clients = clients
        self._ttl = ttl_seconds

    def token(self, client_id: str, secret: str, audience: str) -> IssuedToken:
        """A token for `audience` in the client's own name and role."""
        client = self._clients.authenticate(client_id, secret)
        client.check_audience(audience)
        return self._issuer.issue(client.id, client.role, audiences=[audience], groups=client.groups,
                                  ttl_seconds=self._ttl)

    def jwks(self) -> dict[str, Any]:
        return self._issuer.jwks()
