"""Who is calling the desk, and whether this request may act for them."""

from __future__ import annotations

import dataclasses

from omni.runtime.errors import Unauthenticated
from omni.runtime.token_verifier import TokenVerifier
from omni.web.domain.csrf import CsrfGuard
from omni.web.domain.origins import OriginPolicy
from omni.web.domain.staff import MAX_TOKEN_CHARS, Staff, staff_of


@dataclasses.dataclass(frozen=True)
class Caller:
    # The user's own bearer token: the only credential the gateway ever sends to a service.
    token: str
    staff: Staff


@dataclasses.dataclass(frozen=True)
class Request:
    """What the gateway knows of one browser request."""

    token: str | None
    origin: str | None
    host: str
    csrf: str | None = None


class Callers:
    def __init__(self, verifier: TokenVerifier, csrf: CsrfGuard, origins: OriginPolicy) -> None:
        self._verifier = verifier
        self._csrf = csrf
        self._origins = origins

    async def verify(self, token: str) -> Caller:
        """A token pasted at sign-in or read back from the cookie: one for the gateway's audience
        (`omnichannel.web`), which a desk token names along with the services it relays to."""
        token = token.strip()
        if not token:
            raise Unauthenticated("sign in with your token")
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthenticated(f"a token is at most {MAX_TOKEN_CHARS} characters")
        return Caller(token, staff_of(await self._verifier.verify(token)))

    def csrf_token(self, caller: Caller) -> str:
        return self._csrf.token_for(caller.token)

    def signing_in(self, request: Request) -> None:
        """Sign-in comes from the desk's own page (no login CSRF)."""
        self._origins.check_desk(request.origin, request.host)

    async def reading(self, request: Request) -> Caller:
        """A read: the cookie is enough (another site's page cannot read the answer: no CORS here)."""
        return await self.verify(request.token or "")

    async def acting(self, request: Request) -> Caller:
        """A change or a live stream: the desk's own origin and the CSRF token of this cookie too."""
        self._origins.check_desk(request.origin, request.host)
        caller = await self.verify(request.token or "")
        self._csrf.check(caller.token, request.csrf)
        return caller

    def embedding(self, request: Request) -> None:
        """The widget's chat socket, from a website allowed to embed it."""
        self._origins.check_widget(request.origin, request.host)
