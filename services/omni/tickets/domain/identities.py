"""Identity normalisation: the one key under which a phone number, address or handle is stored.

Phones become E.164 (`+8613800138000`) with libphonenumber, so `138 0013 8000` given in China
and `+86 138-0013-8000` are the same identity. Emails are case-folded with plus-tags kept as
written (`Li+orders@x.cn` and `li+orders@x.cn` match; `li@x.cn` is someone else's inbox).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Sequence

from omni.runtime.errors import InvalidArgument
from omni.runtime.phones import to_e164

MAX_IDENTITY_CHARS = 320


class Kind(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    CHAT_HANDLE = "chat_handle"
    EXTERNAL = "external"


@dataclasses.dataclass(frozen=True)
class Identity:
    kind: Kind
    value: str

    @property
    def key(self) -> str:
        """Unique key of the identity across customers."""
        return f"{self.kind.value}:{self.value}"


# An identity as a channel or caller gave it, before normalising: (kind, raw value).
Presented = tuple[Kind, str]


# Pure, and asked of the same few identities again and again (the consumer's keys, a batch's
# prefetch, each contact's customer); libphonenumber's parsing is the costly part.
@functools.lru_cache(maxsize=65_536)
def normalise(kind: Kind, raw: str, default_region: str) -> Identity:
    """The stored form of an identity; `InvalidArgument` says what is wrong with it."""
    value = raw.strip()
    if not value:
        raise InvalidArgument(f"{kind.value} identity is empty")
    if len(value) > MAX_IDENTITY_CHARS:
        raise InvalidArgument(f"{kind.value} identity is {len(value)} characters; the limit is {MAX_IDENTITY_CHARS}")
    if kind is Kind.PHONE:
        return Identity(kind, _e164(value, default_region))
    if kind is Kind.EMAIL:
        local, at, domain = value.rpartition("@")
        if not at or not local or "." not in domain or any(c.isspace() for c in value):
            raise InvalidArgument(f"email address {value!r} is not valid; expected name@domain")
        return Identity(kind, value.casefold())
    return Identity(kind, value)


def _e164(value: str, default_region: str) -> str:
    hint = (f"give it in international form (e.g. +86 138 0013 8000) or as a {default_region} number"
            if default_region else "give it in international form (e.g. +86 138 0013 8000)")
    number = to_e164(value, default_region)
    if number is None:
        raise InvalidArgument(f"phone number {value!r} is not a valid number; {hint}")
    return number


def readable(identities: Sequence[Presented], default_region: str) -> tuple[list[Identity], list[str]]:
    """Identities presented on a channel: the usable ones, and why the others were skipped.

    A channel may present junk (an ANI of "anonymous", a mangled From:); ingestion keeps going
    with what it can read instead of losing the interaction.
    """
    usable: list[Identity] = []
    skipped: list[str] = []
    for kind, raw in identities:
        try:
            identity = normalise(kind, raw, default_region)
        except InvalidArgument as exc:
            skipped.append(exc.message)
            continue
        if identity not in usable:
            usable.append(identity)
    return usable, skipped
