"""Queues: configuration (stored, with optimistic versions), who may see them, statistics.

A queue is changed by the replica owning its partition; its statistics are answered by any
replica: live by the owner, from the figures the owners publish (`ownership`) by the others."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from omni.routing.domain import access
from omni.routing.domain.queue_metrics import QueueView
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.stats import Snapshot
from omni.routing.repository import RoutingRepository
from omni.routing.usecases.engine_room import EngineRoom
from omni.routing.usecases.ownership import STATS_WINDOW, Ownership
from omni.runtime.auth import Principal
from omni.runtime.errors import AlreadyExists, InvalidArgument, Unavailable
from omni.runtime.paging import Page, PageRequest, page_of
from omni.runtime.validation import check_version

# Statistics cover the last 15 minutes unless the caller names a window (at most a day).
DEFAULT_WINDOW = STATS_WINDOW
MAX_WINDOW = 24 * 3600.0


def _window(seconds: float) -> float:
    if seconds > MAX_WINDOW:
        raise InvalidArgument("window is at most 24 hours")
    return seconds or DEFAULT_WINDOW


def _view(doc: dict[str, Any]) -> QueueView:
    """Figures another replica published; one of the previous release (mid rolling upgrade)
    publishes no bot conversations in progress, counted as none until it is replaced."""
    known = {f.name for f in dataclasses.fields(QueueView)}
    fields = {"bot_in_progress": 0, **{k: v for k, v in doc.items() if k in known}}
    return QueueView(**{**fields, "window": Snapshot(**doc["window"])})


class QueueUseCases:
    def __init__(self, room: EngineRoom, repository: RoutingRepository, ownership: Ownership) -> None:
        self._room = room
        self._repository = repository
        self._ownership = ownership

    async def create(self, queue: QueueConfig) -> QueueConfig:
        claims = self._room.claims
        if claims.layout.of_queue(queue.id) is not None or await self._repository.queues([queue.id]):
            raise AlreadyExists(f"queue {queue.id} exists; use UpdateQueue to change it")
        joins = claims.layout.of_groups(queue.groups)
        if len(joins) != 1:
            # A partition of its own, or one merging several: every replica re-reads the layout.
            await self._repository.save_queue(queue)
            await self._ownership.layout_changed()
            return queue
        partition = joins.pop()
        claims.serve(partition, f"queue {queue.id}'s groups")
        async with self._room.change() as engine:
            if engine.has_queue(queue.id):
                raise AlreadyExists(f"queue {queue.id} exists; use UpdateQueue to change it")
            await self._repository.save_queue(queue)
            claims.layout = claims.layout.with_queue(queue.id, partition, queue.groups)
            engine.put_queue(queue)
        await self._ownership.layout_changed()
        return queue

    def get(self, principal: Principal, queue_id: str) -> QueueConfig:
        self._room.claims.serve_queue(queue_id)
        return access.check_queue(principal, self._room.engine.queue(queue_id))

    async def visible(self, principal: Principal, page: PageRequest) -> Page[QueueConfig]:
        known = self._room.engine.queues() if self._room.claims.holds_all() else await self._repository.queues()
        queues = sorted((q for q in known if access.may_see_queue(principal, q)), key=lambda q: q.id)
        return page_of(queues, lambda q: (q.id,), page)

    async def update(self, queue_id: str, version: int, merge: Callable[[QueueConfig], QueueConfig]) -> QueueConfig:
        """Replace the configuration by `merge(current)`, if `version` (0: unchecked) is still current."""
        self._room.claims.serve_queue(queue_id)
        async with self._room.change() as engine:
            current = engine.queue(queue_id)
            check_version(f"queue {current.id}", current.version, version)
            queue = dataclasses.replace(merge(current), version=current.version + 1)
            await self._repository.save_queue(queue)
            engine.put_queue(queue)
        if queue.groups != current.groups:
            await self._ownership.layout_changed()
        return queue

    def stats(self, principal: Principal, queue_id: str, window: float) -> QueueView:
        """The queue's figures over the last `window` seconds (0: the default window)."""
        window = _window(window)
        claims = self._room.claims
        engine = self._room.engine
        if claims.owns_queue(queue_id):
            return engine.queue_stats(access.check_queue(principal, engine.queue(queue_id)).id, window)
        partition = claims.queue_partition(queue_id)
        for doc in self._ownership.published_stats(partition):
            if doc["queue_id"] == queue_id:
                access.check_queue(principal, _queue_of(doc))
                return _view(doc)
        claims.serve(partition, f"queue {queue_id}")
        raise Unavailable(f"queue {queue_id} has no statistics yet")

    def all_stats(self, principal: Principal, window: float) -> list[QueueView]:
        """The figures of every queue the caller may see, by queue id: the owned queues' live,
        the others' as their owners published them last (over the default window)."""
        window = _window(window)
        engine = self._room.engine
        claims = self._room.claims
        views = {q.id: engine.queue_stats(q.id, window) for q in engine.queues()
                 if claims.owns_queue(q.id) and access.may_see_queue(principal, q)}
        for partition in claims.layout.partitions():
            for doc in self._ownership.published_stats(partition):
                if access.may_see_queue(principal, _queue_of(doc)):
                    views.setdefault(doc["queue_id"], _view(doc))
        return [views[q] for q in sorted(views)]


def _queue_of(doc: dict[str, Any]) -> QueueConfig:
    """What the access rule needs of a queue, from its published figures."""
    return QueueConfig(id=doc["queue_id"], groups=tuple(doc["groups"]))
