"""Live updates of a session (new messages, typing, read markers, state) to whoever watches it.

Carried on plain NATS subjects (not JetStream: a missed typing marker needs no replay, and the
transcript is in MongoDB), so a customer connected to one replica sees an agent reply sent
through another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from omnichannel.sessions.v1.sessions_pb2 import SessionUpdate

log = logging.getLogger("omni.sessions.live")
# Outside every JetStream stream's subjects ("omnichannel.<domain>.>"), on purpose.
SUBJECT_ROOT = "omnichannel_live.sessions"
# A watcher this far behind is too slow to follow; it is dropped and may reconnect/resume.
MAX_BACKLOG = 1000


class WatcherTooSlow(Exception):
    pass


class LiveFeed:
    def __init__(self, nc: NatsClient) -> None:
        self._nc = nc

    async def publish(self, session_id: str, update: SessionUpdate) -> None:
        await self._nc.publish(f"{SUBJECT_ROOT}.{session_id}", update.SerializeToString())

    @contextlib.asynccontextmanager
    async def watch(self, session_id: str) -> AsyncIterator[asyncio.Queue[SessionUpdate | None]]:
        """A queue of the session's updates from now on; None is put when the watcher fell behind."""
        queue: asyncio.Queue[SessionUpdate | None] = asyncio.Queue()

        async def received(msg: Msg) -> None:
            if queue.qsize() >= MAX_BACKLOG:
                queue.put_nowait(None)
                return
            queue.put_nowait(SessionUpdate.FromString(msg.data))

        subscription = await self._nc.subscribe(f"{SUBJECT_ROOT}.{session_id}", cb=received)
        # The server must know the subscription before the caller reads the snapshot it follows.
        await self._nc.flush()
        try:
            yield queue
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
