"""Follow-up tasks (docs/outbound.md, "Follow-ups"): scheduled by an agent or a supervisor,
cancelled, listed. A follow-up is queued as work of the group's queue (the owner of that queue's
partition holds it and offers it when due), so it has the one scheduler routing has."""

from __future__ import annotations

from omni.routing.domain import access, followups
from omni.routing.domain.followups import FollowUpLimits
from omni.routing.domain.work import Work
from omni.routing.repository import RoutingRepository
from omni.routing.usecases.engine_room import EngineRoom
from omni.routing.usecases.work import WorkUseCases
from omni.runtime.auth import Principal
from omni.runtime.channels import Channel
from omni.runtime.paging import Page, PageRequest
from omni.runtime.validation import check_length


class FollowUps:
    def __init__(self, room: EngineRoom, repository: RoutingRepository, work: WorkUseCases,
                 limits: FollowUpLimits) -> None:
        self._room = room
        self._repository = repository
        self._work = work
        self._limits = limits

    async def schedule(self, principal: Principal, work_id: str, channel: Channel | None, due: float, group: str,
                       note: str, request_id: str) -> Work:
        """A follow-up of contact `work_id`, due at `due`, for the caller (empty `group`: the group
        of the contact's queue after the grace period) or for `group` from the start."""
        group = check_length(group.strip(), "group", 128)
        channel = followups.check_request(channel, due, note, self._room.engine.clock(), self._limits)
        source = await self._work.get(principal, work_id)
        agent_id = access.follow_up_agent(principal, source, group)
        queue = followups.queue_for(source, group, await self._repository.queues())
        work = followups.follow_up(
            source, work_id=followups.follow_up_id(principal.subject, check_length(request_id, "request_id", 128)),
            channel=channel, due=due, queue=queue, agent_id=agent_id, group=group, scheduled_by=principal.subject,
            note=note, limits=self._limits)
        return await self._work.enqueue(work)

    async def cancel(self, principal: Principal, work_id: str, reason: str) -> Work:
        """Take a follow-up not yet with an agent off the line; the reason goes on the ticket."""
        work = await self._work.get(principal, work_id)
        followups.check_cancellable(work)
        access.check_follow_up_cancel(principal, work)
        why = check_length(reason.strip(), "reason", self._limits.max_note_chars)
        return await self._room.run(lambda engine: engine.abandon(
            work.id, f"follow-up cancelled by {principal.subject}" + (f": {why}" if why else "")))

    async def due_between(self, principal: Principal, after: float, before: float, page: PageRequest) -> Page[Work]:
        """Follow-ups the caller may see due in [after, before), soonest first (as stored: every
        change of routing work is written before it is announced)."""
        scope = access.work_scope(principal, await self._repository.queues())
        position = (float(page.after[0]), str(page.after[1])) if page.after else None
        found = await self._repository.follow_ups(scope, after, before, position, page.size + 1)
        served = found[:page.size]
        return Page(served, (served[-1].follow_up_due, served[-1].id) if len(found) > page.size else None)

