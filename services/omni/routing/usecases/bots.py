"""The self-service bots' side of the overflow lane: take work (waiting a while for some),
renew the claim on it, and finish it (resolved, or handed back to a person)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from omni.routing.domain.work import Work
from omni.routing.usecases.engine_room import EngineRoom

# The longest a TakeBotWork call waits for work to arrive.
MAX_BOT_WAIT = 30.0


class BotUseCases:
    def __init__(self, room: EngineRoom) -> None:
        self._room = room

    async def take(self, worker_id: str, queue_ids: Sequence[str], wait: float) -> Work | None:
        """The oldest unclaimed overflow work of the queues (every queue if none named), waiting up
        to `wait` seconds (at most MAX_BOT_WAIT) for some; None when none came."""
        for queue_id in queue_ids:
            self._room.engine.queue(queue_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(MAX_BOT_WAIT, wait)
        while True:
            taken = await self._room.run(lambda engine: engine.take_bot_work(worker_id, queue_ids))
            if taken is not None:
                return taken
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await self._room.moved(remaining)

    async def renew(self, work_id: str, worker_id: str) -> float:
        """Extend the worker's claim; when it now lapses."""
        return await self._room.run(lambda engine: engine.renew_bot_claim(work_id, worker_id))

    async def complete(self, work_id: str, resolved: bool, handoff_queue_id: str, reason: str,
                       worker_id: str) -> Work:
        return await self._room.run(lambda engine: engine.complete_bot_work(
            work_id, resolved, handoff_queue_id, reason, worker_id))
