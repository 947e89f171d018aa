"""A browser's requests without a browser: HTTP with the headers a browser would send, and the
widget's chat socket."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import urllib.error
import urllib.request
from http.cookies import SimpleCookie
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

FRAME_WAIT = 20.0


@dataclasses.dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def cookies(self) -> SimpleCookie:
        jar: SimpleCookie = SimpleCookie()
        jar.load(self.headers.get("set-cookie", ""))
        return jar


class Browser:
    """One browser profile on `origin`: keeps the desk cookie, sends Origin like Chromium does."""

    def __init__(self, base: str, origin: str | None = None) -> None:
        self.base = base
        self.origin = base if origin is None else origin
        self.cookie = ""
        self.csrf = ""

    async def call(self, method: str, path: str, body: Any = None, *, csrf: str | None = None,
                   raw: bytes | None = None) -> Answer:
        headers = {"content-type": "application/json"}
        if self.origin:
            headers["origin"] = self.origin
        if self.cookie:
            headers["cookie"] = f"omni_desk={self.cookie}"
        token = self.csrf if csrf is None else csrf
        if token:
            headers["x-csrf-token"] = token
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)

        def send() -> Answer:
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    status, content, found = reply.status, reply.read(), reply.headers
            except urllib.error.HTTPError as refused:
                status, content, found = refused.code, refused.read(), refused.headers
            head = {k.lower(): v for k, v in found.items()}
            parsed = json.loads(content) if head.get("content-type", "").startswith("application/json") else content
            return Answer(status, parsed, head)

        return await asyncio.to_thread(send)

    async def sign_in(self, token: str) -> Answer:
        answer = await self.call("POST", "/api/signin", {"token": token})
        if answer.status == 200:
            self.cookie = answer.cookies["omni_desk"].value
            self.csrf = answer.body["csrf"]
        return answer

    def socket(self, path: str) -> Any:
        return connect(self.base.replace("http", "ws", 1) + path, origin=self.origin or None,  # type: ignore[arg-type]
                       additional_headers={"cookie": f"omni_desk={self.cookie}"} if self.cookie else None)


async def frame(ws: ClientConnection, kind: str) -> Any:
    """The next frame of `kind` on the socket (others are passed over)."""
    async with asyncio.timeout(FRAME_WAIT):
        while True:
            received = json.loads(await ws.recv())
            if kind in received:
                return received[kind]
