"""RoutingService over gRPC: proto ↔ domain, access checks, nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator

import grpc

from omni.routing import convert
from omni.routing.agents import Agent
from omni.routing.queues import QueueConfig
from omni.routing.router import Desktop, Router
from omni.routing.work import FINISHED_STATES, Work, WorkState
from omni.runtime.auth import MANAGERS, Role, current_principal
from omni.runtime.errors import AlreadyExists, DomainError, InvalidArgument, NotFound, PermissionDenied
from omni.runtime.paging import PageRequest, PageTokens, page_of, page_size
from omni.runtime.phones import to_e164
from omni.runtime.requests import apply_mask
from omni.runtime.validation import check_version, mask_paths, require
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc

Context = grpc.aio.ServicerContext[object, object]
AGENT_FIELDS = {"display_name", "groups", "skills", "languages", "capacities", "supervisor"}
QUEUE_FIELDS = {"display_name", "intents", "groups", "service_level_percent", "service_level_seconds", "policy",
                "hours", "callback_threshold", "overflow_threshold", "simple_intents", "expected_handle_time"}
DEFAULT_WINDOW = 15 * 60.0
MAX_BOT_WAIT = 30.0
log = logging.getLogger("omni.routing")


def _only_self_or_manager(agent_id: str) -> None:
    principal = current_principal()
    if principal.role not in MANAGERS and principal.subject != agent_id:
        raise PermissionDenied(f"{principal.subject} may act only as themselves, not as agent {agent_id}")


def _check_callback_number(work: Work, number: str) -> None:
    """A customer's own token (an anonymous web chat's among them) may ask for a callback only to a
    phone number the conversation has verified (the caller's ANI, a signed chat identity): not to
    any number they type, which would make the contact center call a stranger."""
    if current_principal().role is not Role.CUSTOMER or not number:
        return
    verified = {to_e164(value) or value for kind, value in work.identities if kind == common_pb2.IDENTITY_KIND_PHONE}
    if (to_e164(number) or number.strip()) not in verified:
        raise PermissionDenied("a callback goes only to a phone number this conversation has verified; leave the "
                               "number empty, or sign in on the website so your number is known")


def _check_queue(queue: QueueConfig) -> QueueConfig:
    """Agents see the queues of their groups; supervisors, admins and services every queue."""
    if not current_principal().may_see_group(queue.groups):
        raise PermissionDenied(f"queue {queue.id} is outside your groups")
    return queue


def _may_see_agent(agent: Agent) -> bool:
    """Agents see themselves and the agents sharing a group with them."""
    principal = current_principal()
    return principal.subject == agent.id or principal.may_see_group(agent.groups)


def _window(value: float) -> float:
    if value > 24 * 3600:
        raise InvalidArgument("window is at most 24 hours")
    return value or DEFAULT_WINDOW


class RoutingServicer(routing_pb2_grpc.RoutingServiceServicer):
    def __init__(self, router: Router, page_tokens: PageTokens) -> None:
        self.router = router
        self._tokens = page_tokens
        self.engine = router.engine

    # ----- agents ----------------------------------------------------------------------

    async def CreateAgent(self, request: routing_pb2.CreateAgentRequest, context: Context) -> routing_pb2.Agent:
        agent = convert.agent_from_proto(request.agent)
        if agent.id in self.engine.agents:
            raise AlreadyExists(f"agent {agent.id} exists; use UpdateAgent to change it")
        return convert.agent_to_proto(await self.router.run(lambda: self.engine.put_agent(agent)))

    async def GetAgent(self, request: routing_pb2.GetAgentRequest, context: Context) -> routing_pb2.Agent:
        agent = self.engine.agent(require(request.id, "id"))
        if not _may_see_agent(agent):
            raise PermissionDenied(f"agent {agent.id} shares no group with you")
        return convert.agent_to_proto(agent)

    async def ListAgents(self, request: routing_pb2.ListAgentsRequest, context: Context) -> \
            routing_pb2.ListAgentsResponse:
        filters = [request.group, request.status]
        after = self._tokens.read(request.page_token, listing="agents", filters=filters)
        status = convert.agent_status(request.status) if request.status else None
        agents = [a for a in self.engine.agents.values() if (not request.group or request.group in a.groups)
                  and (status is None or a.status is status) and _may_see_agent(a)]
        page = page_of(agents, lambda a: (a.id,), PageRequest(page_size(request.page_size), after))
        return routing_pb2.ListAgentsResponse(
            agents=[convert.agent_to_proto(a) for a in page.items],
            next_page_token=self._tokens.issue(page.next_after, listing="agents", filters=filters))

    async def UpdateAgent(self, request: routing_pb2.UpdateAgentRequest, context: Context) -> routing_pb2.Agent:
        paths = mask_paths(request.update_mask.paths, AGENT_FIELDS, resource="agent")
        current = self.engine.agent(require(request.agent.id, "agent.id"))
        check_version(f"agent {current.id}", current.version, request.agent.version)
        merged = convert.agent_to_proto(current)
        apply_mask(merged, request.agent, paths)
        agent = convert.agent_from_proto(merged)
        return convert.agent_to_proto(await self.router.run(lambda: self.engine.put_agent(agent)))

    async def SetAgentState(self, request: routing_pb2.SetAgentStateRequest, context: Context) -> routing_pb2.Agent:
        agent_id = require(request.agent_id, "agent_id")
        _only_self_or_manager(agent_id)
        status = convert.agent_status(request.status)
        agent = await self.router.run(lambda: self.engine.set_agent_status(agent_id, status, request.reason))
        return convert.agent_to_proto(agent)

    # ----- queues ----------------------------------------------------------------------

    async def CreateQueue(self, request: routing_pb2.CreateQueueRequest, context: Context) -> routing_pb2.Queue:
        queue = convert.queue_from_proto(request.queue)
        if queue.id in self.engine.queues:
            raise AlreadyExists(f"queue {queue.id} exists; use UpdateQueue to change it")
        await self.router.repo.save_queue(queue)
        await self.router.run(lambda: self.engine.put_queue(queue))
        return convert.queue_to_proto(queue)

    async def GetQueue(self, request: routing_pb2.GetQueueRequest, context: Context) -> routing_pb2.Queue:
        return convert.queue_to_proto(_check_queue(self.engine.queue(require(request.id, "id"))))

    async def ListQueues(self, request: routing_pb2.ListQueuesRequest, context: Context) -> \
            routing_pb2.ListQueuesResponse:
        after = self._tokens.read(request.page_token, listing="queues", filters=[])
        principal = current_principal()
        queues = [q for q in self.engine.queues.values() if principal.may_see_group(q.groups)]
        page = page_of(queues, lambda q: (q.id,), PageRequest(page_size(request.page_size), after))
        return routing_pb2.ListQueuesResponse(
            queues=[convert.queue_to_proto(q) for q in page.items],
            next_page_token=self._tokens.issue(page.next_after, listing="queues", filters=[]))

    async def UpdateQueue(self, request: routing_pb2.UpdateQueueRequest, context: Context) -> routing_pb2.Queue:
        paths = mask_paths(request.update_mask.paths, QUEUE_FIELDS, resource="queue")
        current = self.engine.queue(require(request.queue.id, "queue.id"))
        check_version(f"queue {current.id}", current.version, request.queue.version)
        merged = convert.queue_to_proto(current)
        apply_mask(merged, request.queue, paths)
        queue = dataclasses.replace(convert.queue_from_proto(merged), version=current.version + 1)
        await self.router.repo.save_queue(queue)
        await self.router.run(lambda: self.engine.put_queue(queue))
        return convert.queue_to_proto(queue)

    # ----- work ------------------------------------------------------------------------

    async def EnqueueWork(self, request: routing_pb2.EnqueueWorkRequest, context: Context) -> routing_pb2.WorkItem:
        work = convert.work_from_proto(request.work)
        self.engine.queue(work.queue_id)
        return convert.work_to_proto(await self.router.enqueue(work))

    async def _work(self, work_id: str) -> Work:
        work_id = require(work_id, "work_id")
        live = self.engine.work.get(work_id)
        found = live or await self.router.repo.get_work(work_id)
        if found is None:
            raise NotFound(f"work {work_id} does not exist")
        principal = current_principal()
        if principal.role is Role.CUSTOMER:
            if principal.session_id != found.session_id:
                raise PermissionDenied("customers may see only the work of their own session")
        elif principal.role is Role.AGENT and found.queue_id in self.engine.queues and \
                not principal.may_see_group(self.engine.queues[found.queue_id].groups):
            raise PermissionDenied(f"work {work_id} is in queue {found.queue_id}, outside your groups")
        return found

    async def GetWorkItem(self, request: routing_pb2.GetWorkItemRequest, context: Context) -> routing_pb2.WorkItem:
        return convert.work_to_proto(await self._work(request.id))

    async def ListWorkItems(self, request: routing_pb2.ListWorkItemsRequest, context: Context) -> \
            routing_pb2.ListWorkItemsResponse:
        size = page_size(request.page_size)
        filters = [request.queue_id, request.state]
        position = self._tokens.read(request.page_token, listing="work", filters=filters)
        after = int(position[0]) if position else 0
        state = convert.work_state(request.state) if request.state else None
        principal = current_principal()
        if request.queue_id:
            _check_queue(self.engine.queue(request.queue_id))
        if state in FINISHED_STATES:
            assert state is not None
            queue_ids = [request.queue_id] if request.queue_id else None if principal.is_staff_manager else [
                q.id for q in self.engine.queues.values() if principal.may_see_group(q.groups)]
            found = await self.router.repo.finished_work(queue_ids, state, after, size + 1)
        else:
            found = sorted((w for w in self.engine.work.values() if w.seq > after
                            and (not request.queue_id or w.queue_id == request.queue_id)
                            and (state is None or w.state is state)
                            and principal.may_see_group(self.engine.queues[w.queue_id].groups)),
                           key=lambda w: w.seq)[:size + 1]
        page = found[:size]
        next_after = (page[-1].seq,) if len(found) > size else None
        return routing_pb2.ListWorkItemsResponse(
            work_items=[convert.work_to_proto(w) for w in page],
            next_page_token=self._tokens.issue(next_after, listing="work", filters=filters))

    async def WatchPosition(self, request: routing_pb2.WatchPositionRequest, context: Context) -> \
            AsyncIterator[routing_pb2.QueuePosition]:
        work = await self._work(request.work_id)
        last: routing_pb2.QueuePosition | None = None
        while True:
            if work.id in self.engine.work:
                position = convert.position_to_proto(self.engine.position(work.id))
            else:
                stored = await self.router.repo.get_work(work.id)
                state = stored.state if stored else WorkState.COMPLETED
                position = routing_pb2.QueuePosition(work_id=work.id, state=convert.work_state_number(state))
            if position != last:
                yield position
                last = position
            if position.position == 0:
                return
            await self.router.moved(5.0)

    async def AbandonWork(self, request: routing_pb2.AbandonWorkRequest, context: Context) -> routing_pb2.WorkItem:
        work = await self._work(request.work_id)
        return convert.work_to_proto(await self.router.run(lambda: self.engine.abandon(work.id)))

    async def ScheduleCallback(self, request: routing_pb2.ScheduleCallbackRequest, context: Context) -> \
            routing_pb2.WorkItem:
        work = await self._work(request.work_id)
        _check_callback_number(work, request.number)
        return convert.work_to_proto(await self.router.run(
            lambda: self.engine.schedule_callback(work.id, request.number)))

    async def TransferWork(self, request: routing_pb2.TransferWorkRequest, context: Context) -> routing_pb2.WorkItem:
        work = await self._work(request.work_id)
        principal = current_principal()
        if principal.role not in MANAGERS and principal.subject != work.assigned_agent_id:
            raise PermissionDenied(f"only the agent holding work {work.id} or a supervisor may transfer it")
        return convert.work_to_proto(await self.router.run(lambda: self.engine.transfer(
            work.id, request.reason, request.target_queue_id, request.target_agent_id)))

    # ----- agent desktop ---------------------------------------------------------------

    async def AgentSession(self, request_iterator: AsyncIterator[routing_pb2.AgentCommand], context: Context) -> \
            AsyncIterator[routing_pb2.AgentEvent]:
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("command") != "login":
            raise InvalidArgument("the first command on AgentSession must be login")
        agent_id = require(first.login.agent_id, "login.agent_id")
        _only_self_or_manager(agent_id)
        self.engine.agent(agent_id)
        desktop = await self.router.attach(agent_id)
        reader = asyncio.create_task(self._commands(request_iterator, desktop), name=f"desktop {agent_id}")
        try:
            while (event := await desktop.events.get()) is not None:
                yield event
            if reader.done() and not reader.cancelled() and (failure := reader.exception()) is not None:
                raise failure  # INTERNAL for the agent, with the traceback in the log
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            await self.router.detach(desktop)

    async def _commands(self, commands: AsyncIterator[routing_pb2.AgentCommand], desktop: Desktop) -> None:
        """Apply the agent's commands in order; a command that fails is answered with an error event
        and the stream stays open, since the agent's other offers and work are still live."""
        agent_id = desktop.agent_id
        try:
            async for command in commands:
                try:
                    await self._command(agent_id, command, desktop)
                except DomainError as exc:
                    desktop.send(routing_pb2.AgentEvent(error=exc.message))
                except Exception:
                    kind = command.WhichOneof("command")
                    log.exception("agent %s: the %s command failed", agent_id, kind)
                    desktop.send(routing_pb2.AgentEvent(
                        error=f"{kind} failed inside routing and was not applied (logged); send it again"))
        except grpc.aio.AioRpcError:
            pass  # the client went away; the response side ends with it
        finally:
            desktop.close()

    async def _command(self, agent_id: str, command: routing_pb2.AgentCommand, desktop: Desktop) -> None:
        kind = command.WhichOneof("command")
        engine = self.engine
        if kind == "set_state":
            status = convert.agent_status(command.set_state.status)
            await self.router.run(lambda: engine.set_agent_status(agent_id, status, command.set_state.reason))
        elif kind == "accept":
            work_id = self.router.resolve_offer(agent_id, command.accept.offer_id)
            await self.router.run(lambda: engine.accept(agent_id, work_id))
        elif kind == "reject":
            work_id = self.router.resolve_offer(agent_id, command.reject.offer_id)
            await self.router.run(lambda: engine.reject(agent_id, work_id, command.reject.reason or "rejected"))
        elif kind == "wrap_up":
            work_id = require(command.wrap_up.work_id, "wrap_up.work_id")
            await self.router.run(lambda: engine.complete(agent_id, work_id, command.wrap_up.disposition))
        elif kind == "heartbeat":
            desktop.send(routing_pb2.AgentEvent(agent=convert.agent_to_proto(engine.agent(agent_id))))
        elif kind == "login":
            raise InvalidArgument("already logged in on this stream")

    # ----- bots ------------------------------------------------------------------------

    async def TakeBotWork(self, request: routing_pb2.TakeBotWorkRequest, context: Context) -> \
            routing_pb2.TakeBotWorkResponse:
        worker = require(request.worker_id, "worker_id")
        for queue_id in request.queue_ids:
            self.engine.queue(queue_id)
        deadline = asyncio.get_running_loop().time() + min(MAX_BOT_WAIT, convert.seconds(request.wait, 0.0))
        while True:
            taken = await self.router.run(lambda: self.engine.take_bot_work(worker, request.queue_ids))
            if taken is not None:
                return routing_pb2.TakeBotWorkResponse(work=convert.work_to_proto(taken))
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return routing_pb2.TakeBotWorkResponse()
            await self.router.moved(remaining)

    async def RenewBotClaim(self, request: routing_pb2.RenewBotClaimRequest, context: Context) -> \
            routing_pb2.RenewBotClaimResponse:
        work_id, worker = require(request.work_id, "work_id"), require(request.worker_id, "worker_id")
        expires = await self.router.run(lambda: self.engine.renew_bot_claim(work_id, worker))
        return routing_pb2.RenewBotClaimResponse(expire_time=convert.timestamp(expires))

    async def CompleteBotWork(self, request: routing_pb2.CompleteBotWorkRequest, context: Context) -> \
            routing_pb2.WorkItem:
        work_id = require(request.work_id, "work_id")
        return convert.work_to_proto(await self.router.run(lambda: self.engine.complete_bot_work(
            work_id, request.resolved, request.handoff_queue_id, request.reason, request.worker_id)))

    # ----- statistics ------------------------------------------------------------------

    async def GetQueueStats(self, request: routing_pb2.GetQueueStatsRequest, context: Context) -> \
            routing_pb2.QueueStats:
        window = _window(convert.seconds(request.window, DEFAULT_WINDOW))
        queue = _check_queue(self.engine.queue(require(request.queue_id, "queue_id")))
        return convert.stats_to_proto(self.engine.queue_stats(queue.id, window))

    async def ListQueueStats(self, request: routing_pb2.ListQueueStatsRequest, context: Context) -> \
            routing_pb2.ListQueueStatsResponse:
        window = _window(convert.seconds(request.window, DEFAULT_WINDOW))
        principal = current_principal()
        return routing_pb2.ListQueueStatsResponse(stats=[
            convert.stats_to_proto(self.engine.queue_stats(q.id, window))
            for q in sorted(self.engine.queues.values(), key=lambda q: q.id) if principal.may_see_group(q.groups)])


__all__ = ["RoutingServicer"]
