"""Keyset paging and the page tokens that carry a position between calls.

A page token is opaque and signed (HMAC-SHA256): it holds only where the next page starts, and
it is bound to the list it came from and to the caller's filters. A token a caller made up,
changed, or carries over to other filters is refused with INVALID_ARGUMENT, so a token can never
widen what a list returns: the filters (the access rule among them) always come from the request.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from omni.runtime.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
T = TypeVar("T")
# A position is the sort key of the last item served: the next page starts after it.
Position = tuple[Any, ...]
_REFUSED = "page_token is not one this service issued for this list and these filters; start again without it"


@dataclasses.dataclass(frozen=True)
class PageRequest:
    size: int = DEFAULT_PAGE_SIZE
    after: Position | None = None


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    # Where the next page starts; None on the last page.
    next_after: Position | None = None


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument(f"page_size must not be negative (got {requested})")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def page_of(items: Sequence[T], key: Callable[[T], Position], page: PageRequest) -> Page[T]:
    """One page of `items` sorted ascending by `key` (which must be unique), starting after `page.after`."""
    ordered = sorted(items, key=key)
    if page.after is not None:
        after = page.after
        ordered = [item for item in ordered if key(item) > after]
    if len(ordered) <= page.size:
        return Page(list(ordered))
    served = list(ordered[: page.size])
    return Page(served, key(served[-1]))


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"dt"}:
        return dt.datetime.fromisoformat(value["dt"])
    return value


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokens:
    """Issues and reads the page tokens of every List RPC of a service."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a page-token key needs at least 16 bytes")
        self._key = key

    @classmethod
    def derived_from(cls, secret: str) -> PageTokens:
        """A key of its own derived from a service secret, so every replica signs alike."""
        return cls(hmac.new(secret.encode(), b"omnichannel page tokens v1", hashlib.sha256).digest())

    def _mac(self, body: bytes, listing: str, filters: Any) -> bytes:
        bound = json.dumps([listing, filters], sort_keys=True, separators=(",", ":"), default=str).encode()
        return hmac.new(self._key, body + b"\0" + bound, hashlib.sha256).digest()

    def issue(self, after: Position | None, *, listing: str, filters: Any) -> str:
        """The token for the page after `after` ("" when there is none). `filters` are the
        request's filters as given (any JSON-able value); the token only works with the same ones."""
        if after is None:
            return ""
        body = json.dumps([_plain(v) for v in after], separators=(",", ":")).encode()
        return f"{_b64(body)}.{_b64(self._mac(body, listing, filters))}"

    def read(self, token: str, *, listing: str, filters: Any) -> Position | None:
        """The position a token names; None for no token. INVALID_ARGUMENT for anything else."""
        if not token:
            return None
        body_text, dot, mac_text = token.partition(".")
        try:
            body, mac = _unb64(body_text), _unb64(mac_text)
        except (binascii.Error, ValueError):
            raise InvalidArgument(_REFUSED) from None
        if not dot or not hmac.compare_digest(mac, self._mac(body, listing, filters)):
            raise InvalidArgument(_REFUSED)
        try:
            values = json.loads(body)
        except ValueError:
            raise InvalidArgument(_REFUSED) from None
        if not isinstance(values, list):
            raise InvalidArgument(_REFUSED)
        return tuple(_typed(v) for v in values)
