"""Who is calling: roles, the principal of the current call, and the audiences tokens name.

Tokens themselves are minted in `token_issuer` and checked in `token_verifier`; this module stays
pure so that every service's domain can import it.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import enum
from collections.abc import Iterable, Iterator

from omni.runtime.errors import PermissionDenied, Unauthenticated


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    # The platform's own callers: routing's screen pops, the operator, a PBX adapter, seeding.
    SERVICE = "service"
    # A self-service bot worker: takes, renews and completes its bot work, reads public knowledge,
    # and watches and replies on the sessions that are with the bots; nothing else.
    BOT = "bot"


# Convenience role sets for method tables.
STAFF = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.SERVICE})
MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.SERVICE})
ADMINS = frozenset({Role.ADMIN, Role.SERVICE})
# Every role but the bot's: a table lets a bot in by naming it (BOTS), method by method.
EVERYONE = frozenset(Role) - {Role.BOT}
BOTS = frozenset({Role.BOT})

# A token names the services it is for (`aud`); each service accepts only tokens naming it.
AUDIENCE_PREFIX = "omnichannel."
SERVICES = ("sessions", "tickets", "knowledge", "routing", "reports")


def audience(service: str) -> str:
    """The audience a token for `service` ("tickets", "web", ...) names."""
    return AUDIENCE_PREFIX + service


# What a person's token for the desk names: every service the desk reaches, and the gateway that
# relays it (the gateway calls on with the same token, never one of its own).
DESK_AUDIENCES = tuple(audience(name) for name in (*SERVICES, "web"))


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


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    """gRPC call metadata carrying `token`."""
    return (("authorization", f"Bearer {token}"),)
