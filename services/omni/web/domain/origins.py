"""Which web origins may talk to the gateway.

The desk is same-origin only: its sign-in, state-changing calls and WebSockets must come from the
gateway's own origin (a WebSocket handshake is not covered by CORS, so the Origin header is the
only thing telling a hostile page's socket from the desk's). The widget is embedded in company
websites: its chat socket is accepted from the configured site origins and from the gateway's own
demo page, and from nowhere else.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from omni.runtime.errors import PermissionDenied

MAX_ORIGIN_CHARS = 300


def normalised(origin: str) -> str:
    """scheme://host[:port] in lower case, the form browsers send in the Origin header."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclasses.dataclass(frozen=True)
class OriginPolicy:
    # The gateway's public origin; empty: whatever Host the request was sent to.
    public_origin: str
    site_origins: frozenset[str]

    @classmethod
    def of(cls, public_origin: str, site_origins: tuple[str, ...]) -> OriginPolicy:
        return cls(normalised(public_origin) if public_origin else "", frozenset(normalised(o) for o in site_origins))

    def _own(self, origin: str, host: str) -> bool:
        if self.public_origin:
            return origin == self.public_origin
        return urlsplit(origin).netloc == host.lower()

    def check_desk(self, origin: str | None, host: str) -> None:
        if not origin:
            raise PermissionDenied("the desk answers only requests that name their Origin (a browser does)")
        origin = origin.lower()
        if len(origin) > MAX_ORIGIN_CHARS or not self._own(origin, host):
            raise PermissionDenied(f"origin {origin[:MAX_ORIGIN_CHARS]!r} is not the desk's own; refused")

    def check_widget(self, origin: str | None, host: str) -> None:
        if not origin:
            raise PermissionDenied("the chat widget answers only browsers, which name their Origin")
        origin = origin.lower()
        if len(origin) > MAX_ORIGIN_CHARS or not (origin in self.site_origins or self._own(origin, host)):
            raise PermissionDenied(f"origin {origin[:MAX_ORIGIN_CHARS]!r} may not embed the chat widget "
                                   "(OMNI_WEB_SITE_ORIGINS)")
