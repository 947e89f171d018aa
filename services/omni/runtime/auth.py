"""Signed bearer tokens (HS256 JWT) and the principal of the current call."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import enum
import time
from collections.abc import Iterable, Iterator

import jwt

from omni.runtime.errors import PermissionDenied, Unauthenticated

ISSUER = "omnichannel"
ALGORITHM = "HS256"


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    SERVICE = "service"


# Convenience role sets for method tables.
STAFF = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.SERVICE})
MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.SERVICE})
ADMINS = frozenset({Role.ADMIN, Role.SERVICE})
EVERYONE = frozenset(Role)


@dataclasses.dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    groups: tuple[str, ...] = ()
    # For customers: the one session they may see.
    session_id: str = ""

    @property
    def is_staff_manager(self) -> bool:
        return self.role in MANAGERS

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise PermissionDenied(f"role {self.role} may not do this; needs one of {sorted(roles)}")

    def may_see_group(self, groups: Iterable[str]) -> bool:
        """Managers see everything; an agent sees work of their own groups."""
        if self.role in MANAGERS:
            return True
        wanted = set(groups)
        return not wanted or bool(wanted & set(self.groups))


_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)


def current_principal() -> Principal:
    principal = _current.get()
    if principal is None:
        raise Unauthenticated("no authenticated caller in this context")
    return principal


@contextlib.contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    """Make `principal` the caller for the code inside the block (this task only)."""
    token = _current.set(principal)
    try:
        yield principal
    finally:
        _current.reset(token)


class TokenAuthority:
    """Mints and verifies tokens with one shared secret (from the environment / a Secret)."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError("OMNI_JWT_SECRET must be at least 32 characters")
        self._secret = secret

    def mint(
        self,
        subject: str,
        role: Role,
        *,
        groups: Iterable[str] = (),
        session_id: str = "",
        ttl_seconds: int = 12 * 3600,
    ) -> str:
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": ISSUER,
            "sub": subject,
            "role": role.value,
            "groups": list(groups),
            "iat": now,
            "exp": now + ttl_seconds,
        }
        if session_id:
            claims["sid"] = session_id
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired; sign in again") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        try:
            role = Role(claims.get("role", ""))
        except ValueError:
            raise Unauthenticated(f"token has unknown role {claims.get('role')!r}") from None
        groups = claims.get("groups") or []
        if not isinstance(groups, list):
            raise Unauthenticated("token claim 'groups' must be a list")
        return Principal(
            subject=str(claims["sub"]),
            role=role,
            groups=tuple(str(g) for g in groups),
            session_id=str(claims.get("sid", "")),
        )


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    """gRPC call metadata carrying `token`."""
    return (("authorization", f"Bearer {token}"),)
