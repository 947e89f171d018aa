"""Live feeds: what changed, pushed to whoever watches now, over plain NATS subjects.

Not JetStream: a watcher that missed an update re-reads the resource (the record is in
MongoDB), so there is nothing to replay. Being on NATS, a watcher connected to one replica sees
what another replica published. Sessions carries its conversation updates this way; tickets
follows its own event subjects the same way for WatchTickets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

# A watcher this far behind is too slow to follow; it is told (None) and may reconnect/resume.
MAX_BACKLOG = 1000
Update = TypeVar("Update")


class LiveFeed(Generic[Update]):
    """Updates under `<subject_root>.<key>`; `decode` turns a message body into an update."""

    def __init__(self, nc: NatsClient, subject_root: str, decode: Callable[[bytes], Update]) -> None:
        self._nc = nc
        self._root = subject_root
        self._decode = decode

    async def publish(self, key: str, body: bytes) -> None:
        await self._nc.publish(f"{self._root}.{key}", body)

    @contextlib.asynccontextmanager
    async def watch(self, key: str = ">") -> AsyncIterator[asyncio.Queue[Update | None]]:
        """A queue of the updates of `key` (every key by default) from now on; None is put when
        the watcher fell behind. Once this is entered the server knows the subscription, so a
        snapshot read afterwards misses no update."""
        queue: asyncio.Queue[Update | None] = asyncio.Queue()

        async def received(msg: Msg) -> None:
            if queue.qsize() >= MAX_BACKLOG:
                queue.put_nowait(None)
                return
            queue.put_nowait(self._decode(msg.data))

        subscription = await self._nc.subscribe(f"{self._root}.{key}", cb=received)
        await self._nc.flush()
        try:
            yield queue
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
