"""Alerts: raised once per origin, listed, watched and acknowledged, as each caller may see them."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Iterable, Sequence

from omni.runtime.auth import Principal
from omni.runtime.clock import utcnow
from omni.runtime.paging import Page, PageRequest
from omni.runtime.storage import Document
from omni.supervision.domain import access
from omni.supervision.domain.alerts import Alert, AlertFilter, acknowledge
from omni.supervision.publishing import AlertEvents
from omni.supervision.repository import SupervisionRepository
from omni.supervision.usecases.floor import FloorRoom
from omni.supervision.usecases.watchers import WatchSlots

log = logging.getLogger("omni.supervision.alerts")


class Alerts:
    def __init__(self, repo: SupervisionRepository, events: AlertEvents, room: FloorRoom,
                 max_snapshot: int, slots: WatchSlots) -> None:
        self._repo = repo
        self._events = events
        # Who sees which queue comes with routing's view of the queues.
        self._room = room
        self._max_snapshot = max_snapshot
        self._slots = slots

    async def raise_alerts(self, alerts: Iterable[Alert]) -> list[Alert]:
        """Store and publish each alert unless one of its origin exists; the ones raised now."""
        raised: list[Alert] = []
        for alert in alerts:
            stored, pending = await self._repo.insert_alert(alert, [self._events.raised(alert)])
            if pending:
                await self._publish(stored, pending)
                raised.append(stored)
        return raised

    async def list(self, principal: Principal, wanted: AlertFilter, page: PageRequest) -> Page[Alert]:
        seen = await self._room.sight(principal)
        return await self._repo.list_alerts(seen, wanted, page)

    async def acknowledge(self, principal: Principal, alert_id: str) -> Alert:
        seen = await self._room.sight(principal)
        alert = access.check_alert(seen, await self._repo.get_alert(alert_id))
        done = acknowledge(alert, principal.subject, utcnow())
        if done is alert:
            return alert
        stored, pending = await self._repo.acknowledge(done, [self._events.acknowledged(done)])
        await self._publish(stored, pending)
        return stored

    async def watch(self, principal: Principal) -> AsyncGenerator[tuple[str, Alert]]:
        """("snapshot", alert) for each open alert, then ("raised" | "acknowledged", alert) as
        they happen; the watch ends if the watcher falls too far behind (they watch again)."""
        seen = await self._room.sight(principal)
        with self._slots.taken():
            async for change in self._changes(seen, principal):
                yield change

    async def _changes(self, seen: access.Sight, principal: Principal) -> AsyncGenerator[tuple[str, Alert]]:
        async with self._events.watch() as changes:
            for alert in reversed(await self._repo.open_alerts(seen, self._max_snapshot)):
                yield "snapshot", alert
            async for change in changes:
                if change is None:
                    log.info("an alert watcher of %s fell behind; ending the watch", principal.subject)
                    return
                if seen.sees_alert(change[1]):
                    yield change

    async def _publish(self, alert: Alert, entries: Sequence[Document]) -> None:
        try:
            await self._events.publish(alert, entries)
        except Exception as exc:  # the relay publishes what stayed behind
            log.warning("alert %s stays in the outbox until the relay publishes it: %s", alert.id, exc)
