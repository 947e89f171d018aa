"""What the agent typed into the ticket search: a ticket number, a phone number or an email."""

from __future__ import annotations

import enum
import re

from omni.runtime.errors import InvalidArgument

_PHONE = re.compile(r"\+?[\d\s().-]{6,}")


class SearchKind(enum.Enum):
    TICKET = "ticket"
    PHONE = "phone"
    EMAIL = "email"


def search_kind(query: str) -> tuple[SearchKind, str]:
    query = query.strip()
    if not query:
        raise InvalidArgument("type a ticket number, a phone number or an email address")
    if "@" in query:
        return SearchKind.EMAIL, query
    if _PHONE.fullmatch(query):
        return SearchKind.PHONE, query
    return SearchKind.TICKET, query
