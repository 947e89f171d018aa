"""The SLA loop: finds tickets whose first-response or resolution target passed and publishes
`sla_breached` once per breach."""

from __future__ import annotations

import asyncio
import logging

from omni.runtime.clock import utcnow
from omni.tickets.publishing import TicketEvents, ticket_event
from omni.tickets.repository import TicketRepository

log = logging.getLogger("omni.tickets.sla")

TARGETS = {"first_response": "fr_pending_due", "resolution": "res_pending_due"}


async def check_once(repo: TicketRepository, events: TicketEvents) -> int:
    """Flag and announce every breach due now; returns how many."""
    found = 0
    now = utcnow()
    for target, field in TARGETS.items():
        for ticket in await repo.overdue(field, now):
            # Announce first (fixed event id: a repeat is dropped), then flag; a crash between
            # the two announces again on the next pass instead of never.
            await events.ticket("sla_breached", f"{ticket.id}:sla:{target}",
                                ticket_event(ticket, breached_target=target))
            if await repo.mark_breached(ticket.id, target) is not None:
                found += 1
    return found


async def run(repo: TicketRepository, events: TicketEvents, every_seconds: float) -> None:
    while True:
        try:
            breached = await check_once(repo, events)
            if breached:
                log.info("%d SLA breach(es) flagged", breached)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("SLA check failed; trying again in %.0fs", every_seconds)
        await asyncio.sleep(every_seconds)
