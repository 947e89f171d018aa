"""Verified chat identities: the company's website signs who its signed-in user is.

The web chat is anonymous, so an email or phone a visitor types proves nothing; trusting it
would file the visitor's messages on that customer and show their history to the agent. The
website, where the user is signed in, mints a short-lived HS256 JWT with the chat identity key
(`OMNI_CHAT_IDENTITY_SECRET`): claims `email` and/or `phone`, optional `name`, and `exp`.
Only such identities find the customer (identity verification as in Zendesk or Intercom).
"""

from __future__ import annotations

import dataclasses
import time

import jwt

from omni.runtime.errors import Unauthenticated
from omni.runtime.phones import to_e164
from omni.sessions.domain.identities import match_keys
from omni.sessions.domain.model import Identity, Session

ALGORITHM = "HS256"
MIN_SECRET_CHARS = 32
# A JWT with a few short claims is well under 1 KiB; anything near this is not one of ours.
MAX_TOKEN_CHARS = 4096
# Clock skew tolerated between the website and us.
LEEWAY_SECONDS = 30


@dataclasses.dataclass(frozen=True)
class VerifiedVisitor:
    identities: list[Identity]
    name: str = ""


class IdentityVerifier:
    """Checks identity tokens with the chat identity key; no key: every token is refused."""

    def __init__(self, secret: str, default_region: str) -> None:
        if secret and len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"OMNI_CHAT_IDENTITY_SECRET must be at least {MIN_SECRET_CHARS} characters")
        self._secret = secret
        self._region = default_region

    def verify(self, token: str) -> VerifiedVisitor:
        if not self._secret:
            raise Unauthenticated("start.identity_token cannot be checked: this chat has no identity key "
                                  "(OMNI_CHAT_IDENTITY_SECRET); start without it")
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthenticated(f"start.identity_token is over {MAX_TOKEN_CHARS} characters")
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], leeway=LEEWAY_SECONDS,
                                options={"require": ["exp"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("start.identity_token expired; get a new one from the website") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("start.identity_token is not signed with this chat's identity key") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"start.identity_token is invalid: {exc}") from None
        identities = []
        for kind in ("email", "phone"):
            value = _claim(claims, kind)
            if value:
                identities.append(Identity(kind, self._normalised_phone(value) if kind == "phone" else value))
        if not identities:
            raise Unauthenticated("start.identity_token names no one: it needs an 'email' or 'phone' claim")
        return VerifiedVisitor(identities, _claim(claims, "name")[:200])

    def _normalised_phone(self, value: str) -> str:
        """E.164 like the rest of the platform; a number phonenumbers cannot read stays as signed."""
        return to_e164(value, self._region) or value


@dataclasses.dataclass(frozen=True)
class Visitor:
    """Who a chat visitor is: `verified` identities find and link the customer; `claimed` ones,
    typed without proof, are only shown to staff."""

    verified: list[Identity]
    claimed: list[Identity]
    display_name: str
    # The caller vouched for what was typed, so a previous session it names is continued as asked.
    vouched: bool


class ChatVisitors:
    """Tells verified from claimed identities of a chat start (see the module's docstring)."""

    def __init__(self, verifier: IdentityVerifier, default_region: str, *, trust_claimed: bool = False) -> None:
        self._verifier = verifier
        self._region = default_region
        # OMNI_CHAT_TRUST_CLAIMED_IDENTITIES: every chat is vouched for (signed-in users only).
        self._trust_claimed = trust_claimed

    def identify(self, handle: str, display_name: str, typed: list[Identity], identity_token: str, *,
                 vouched: bool) -> Visitor:
        """`handle` is the widget's own id; `vouched`: the caller (a service) vouches for `typed`."""
        verified = [Identity("chat_handle", handle)]
        if identity_token:
            signed = self._verifier.verify(identity_token)
            verified += signed.identities
            display_name = signed.name or display_name
        claimed = list(typed)
        vouched = vouched or self._trust_claimed
        if vouched:
            verified, claimed = verified + claimed, []
        known = set(match_keys(verified, self._region))
        claimed = [i for i in claimed if not set(match_keys([i], self._region)) <= known]
        return Visitor(verified, claimed, display_name, vouched)

    def may_continue(self, visitor: Visitor, previous: Session) -> bool:
        """Whether a chat the caller did not vouch for may continue `previous`: only when that one
        shares the chat handle or a verified identity."""
        shared = set(match_keys(previous.identities, self._region)) & set(match_keys(visitor.verified, self._region))
        return bool(shared)


def _claim(claims: dict[str, object], name: str) -> str:
    value = claims.get(name, "")
    if not isinstance(value, str) or len(value) > 320:
        raise Unauthenticated(f"start.identity_token claim {name!r} must be a string of at most 320 characters")
    return value.strip()


def mint_identity_token(secret: str, *, email: str = "", phone: str = "", name: str = "",
                        ttl_seconds: int = 300) -> str:
    """What the company's website does for its signed-in user (here for the dev tools and tests)."""
    now = int(time.time())
    claims: dict[str, object] = {"iat": now, "exp": now + ttl_seconds}
    claims.update({k: v for k, v in (("email", email), ("phone", phone), ("name", name)) if v})
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
