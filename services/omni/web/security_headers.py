"""Security headers on every answer of the gateway (an ASGI middleware).

The desk and the demo site run only script files of ours (no inline script, no eval), connect
only to the gateway, and may not be framed. The widget's script is the one file other sites may
load.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
COMMON = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
# The widget's script is loaded by the websites embedding it; everything else stays ours.
CROSS_ORIGIN_PATHS = ("/widget/",)
HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self._app = app
        self._https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = [(b"cross-origin-resource-policy",
                  b"cross-origin" if path.startswith(CROSS_ORIGIN_PATHS) else b"same-origin")]
        if path.startswith("/api/"):
            extra.append((b"cache-control", b"no-store"))
        if self._https:
            extra.append(HSTS)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = message.get("headers", [])
                # A route that sets its own, stricter policy (a report page) keeps it alone.
                common = [h for h in COMMON if h[0] != b"content-security-policy"] \
                    if any(name.lower() == b"content-security-policy" for name, _ in own) else COMMON
                message["headers"] = [*own, *common, *extra]
            await send(message)

        await self._app(scope, receive, with_headers)
