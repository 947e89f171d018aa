"""Queues: configuration (stored, with optimistic versions), who may see them, statistics."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from omni.routing.domain import access
from omni.routing.domain.queue_metrics import QueueView
from omni.routing.domain.queues import QueueConfig
from omni.routing.repository import RoutingRepository
from omni.routing.usecases.engine_room import EngineRoom
from omni.runtime.auth import Principal
from omni.runtime.errors import AlreadyExists, InvalidArgument
from omni.runtime.paging import Page, PageRequest, page_of
from omni.runtime.validation import check_version

# Statistics cover the last 15 minutes unless the caller names a window (at most a day).
DEFAULT_WINDOW = 15 * 60.0
MAX_WINDOW = 24 * 3600.0


def _window(seconds: float) -> float:
    if seconds > MAX_WINDOW:
        raise InvalidArgument("window is at most 24 hours")
    return seconds or DEFAULT_WINDOW


class QueueUseCases:
    def __init__(self, room: EngineRoom, repository: RoutingRepository) -> None:
        self._room = room
        self._repository = repository

    async def create(self, queue: QueueConfig) -> QueueConfig:
        async with self._room.change() as engine:
            if engine.has_queue(queue.id):
                raise AlreadyExists(f"queue {queue.id} exists; use UpdateQueue to change it")
            await self._repository.save_queue(queue)
            engine.put_queue(queue)
        return queue

    def get(self, principal: Principal, queue_id: str) -> QueueConfig:
        return access.check_queue(principal, self._room.engine.queue(queue_id))

    def visible(self, principal: Principal, page: PageRequest) -> Page[QueueConfig]:
        queues = [q for q in self._room.engine.queues() if access.may_see_queue(principal, q)]
        return page_of(queues, lambda q: (q.id,), page)

    async def update(self, queue_id: str, version: int, merge: Callable[[QueueConfig], QueueConfig]) -> QueueConfig:
        """Replace the configuration by `merge(current)`, if `version` (0: unchecked) is still current."""
        async with self._room.change() as engine:
            current = engine.queue(queue_id)
            check_version(f"queue {current.id}", current.version, version)
            queue = dataclasses.replace(merge(current), version=current.version + 1)
            await self._repository.save_queue(queue)
            engine.put_queue(queue)
        return queue

    def stats(self, principal: Principal, queue_id: str, window: float) -> QueueView:
        """The queue's figures over the last `window` seconds (0: the default window)."""
        window = _window(window)
        engine = self._room.engine
        return engine.queue_stats(access.check_queue(principal, engine.queue(queue_id)).id, window)

    def all_stats(self, principal: Principal, window: float) -> list[QueueView]:
        """The figures of every queue the caller may see, by queue id."""
        window = _window(window)
        engine = self._room.engine
        return [engine.queue_stats(q.id, window) for q in sorted(engine.queues(), key=lambda q: q.id)
                if access.may_see_queue(principal, q)]
