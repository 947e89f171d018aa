"""WatchTickets: the changes of the tickets a caller may see and asked for, live from the bus.

The first change of every watch is `WATCHING`, sent once the subscription is live: a client
that waits for it misses no change made afterwards, and needs no sleep to be sure.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from omni.runtime.auth import Principal
from omni.runtime.clock import utcnow
from omni.tickets import publishing
from omni.tickets.domain import access
from omni.tickets.domain.model import WATCHING, TicketChange
from omni.tickets.domain.tickets import WatchFilter
from omni.tickets.publishing import TicketFeed


class TicketWatch:
    def __init__(self, feed: TicketFeed) -> None:
        self._feed = feed

    async def changes(self, principal: Principal, where: WatchFilter) -> AsyncGenerator[TicketChange]:
        """Until the caller stops listening. A watcher that falls behind misses what did not fit
        in its backlog and goes on with what comes next (a ticket is re-read with GetTicket)."""
        async with self._feed.watch() as envelopes:
            yield TicketChange(WATCHING, None, utcnow())
            while True:
                envelope = await envelopes.get()
                change = publishing.ticket_change(envelope) if envelope is not None else None
                if change is None or change.ticket is None:
                    continue
                if access.may_view(principal, change.ticket.groups) and where.matches(change.ticket):
                    yield change
