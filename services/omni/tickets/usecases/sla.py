"""The SLA loop: finds tickets whose first-response or resolution target passed and publishes
`sla_breached` once per breach."""

from __future__ import annotations

import asyncio
import logging

from omni.runtime.clock import utcnow
from omni.tickets.domain.sla import Target
from omni.tickets.publishing import TicketEvents
from omni.tickets.repository import TicketRepository

log = logging.getLogger("omni.tickets.sla")


class SlaWatch:
    def __init__(self, repo: TicketRepository, events: TicketEvents) -> None:
        self._repo = repo
        self._events = events

    async def check_once(self) -> int:
        """Flag and announce every breach due now; returns how many."""
        found = 0
        now = utcnow()
        for target in Target:
            for ticket in await self._repo.overdue(target, now):
                # Announce first (fixed event id: a repeat is dropped), then flag; a crash between
                # the two announces again on the next pass instead of never.
                await self._events.ticket("sla_breached", f"{ticket.id}:sla:{target}", ticket,
                                          breached_target=target.value)
                if await self._repo.mark_breached(ticket.id, target) is not None:
                    found += 1
        return found

    async def run(self, every_seconds: float) -> None:
        while True:
            try:
                breached = await self.check_once()
                if breached:
                    log.info("%d SLA breach(es) flagged", breached)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("SLA check failed; trying again in %.0fs", every_seconds)
            await asyncio.sleep(every_seconds)
