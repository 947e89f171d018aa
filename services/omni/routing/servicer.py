"""RoutingService over gRPC: proto ↔ use cases, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from omni.routing import convert
from omni.routing.domain.desktop import Command
from omni.routing.usecases import RoutingUseCases
from omni.runtime.auth import current_principal
from omni.runtime.errors import InvalidArgument
from omni.runtime.interceptors import Context
from omni.runtime.paging import PageRequest, PageTokens, page_size
from omni.runtime.proto_values import channel_from_proto, timestamp_from_seconds
from omni.runtime.validation import mask_paths, require
from omnichannel.routing.v1 import routing_pb2 as pb
from omnichannel.routing.v1 import routing_pb2_grpc


def seconds_of(timestamp: Timestamp) -> float:
    return timestamp.ToNanoseconds() / 1e9


async def _commands(stream: AsyncIterator[pb.AgentCommand]) -> AsyncIterator[Command]:
    try:
        async for command in stream:
            yield convert.desktop_command(command)
    except grpc.aio.AioRpcError:
        return  # the client went away; the response side ends with it


class RoutingServicer(routing_pb2_grpc.RoutingServiceServicer):
    def __init__(self, routing: RoutingUseCases, page_tokens: PageTokens) -> None:
        self._agents, self._queues, self._work = routing.agents, routing.queues, routing.work
        self._bots, self._sessions, self._follow_ups = routing.bots, routing.sessions, routing.follow_ups
        self._callback_times = routing.callback_times
        self._tokens = page_tokens

    # ----- agents ----------------------------------------------------------------------

    async def CreateAgent(self, request: pb.CreateAgentRequest, context: Context) -> pb.Agent:
        return convert.agent_to_proto(await self._agents.create(convert.agent_from_proto(request.agent)))

    async def GetAgent(self, request: pb.GetAgentRequest, context: Context) -> pb.Agent:
        return convert.agent_to_proto(self._agents.get(current_principal(), require(request.id, "id")))

    async def ListAgents(self, request: pb.ListAgentsRequest, context: Context) -> pb.ListAgentsResponse:
        asked = [request.group, request.status]
        after = self._tokens.read(request.page_token, listing="agents", filters=asked)
        status = convert.agent_status(request.status) if request.status else None
        page = await self._agents.visible(current_principal(), request.group, status,
                                          PageRequest(page_size(request.page_size), after))
        return pb.ListAgentsResponse(agents=[convert.agent_to_proto(a) for a in page.items],
                                     next_page_token=self._tokens.issue(page.next_after, listing="agents",
                                                                        filters=asked))

    async def UpdateAgent(self, request: pb.UpdateAgentRequest, context: Context) -> pb.Agent:
        paths = mask_paths(request.update_mask.paths, convert.AGENT_FIELDS, resource="agent")
        agent = await self._agents.update(require(request.agent.id, "agent.id"), request.agent.version,
                                          lambda current: convert.merged_agent(current, request.agent, paths))
        return convert.agent_to_proto(agent)

    async def SetAgentState(self, request: pb.SetAgentStateRequest, context: Context) -> pb.Agent:
        agent = await self._agents.set_state(current_principal(), require(request.agent_id, "agent_id"),
                                             convert.agent_status(request.status), request.reason)
        return convert.agent_to_proto(agent)

    # ----- queues ----------------------------------------------------------------------

    async def CreateQueue(self, request: pb.CreateQueueRequest, context: Context) -> pb.Queue:
        return convert.queue_to_proto(await self._queues.create(convert.queue_from_proto(request.queue)))

    async def GetQueue(self, request: pb.GetQueueRequest, context: Context) -> pb.Queue:
        return convert.queue_to_proto(self._queues.get(current_principal(), require(request.id, "id")))

    async def ListQueues(self, request: pb.ListQueuesRequest, context: Context) -> pb.ListQueuesResponse:
        after = self._tokens.read(request.page_token, listing="queues", filters=[])
        page = await self._queues.visible(current_principal(), PageRequest(page_size(request.page_size), after))
        return pb.ListQueuesResponse(queues=[convert.queue_to_proto(q) for q in page.items],
                                     next_page_token=self._tokens.issue(page.next_after, listing="queues", filters=[]))

    async def UpdateQueue(self, request: pb.UpdateQueueRequest, context: Context) -> pb.Queue:
        paths = mask_paths(request.update_mask.paths, convert.QUEUE_FIELDS, resource="queue")
        queue = await self._queues.update(require(request.queue.id, "queue.id"), request.queue.version,
                                          lambda current: convert.merged_queue(current, request.queue, paths))
        return convert.queue_to_proto(queue)

    async def GetQueueStats(self, request: pb.GetQueueStatsRequest, context: Context) -> pb.QueueStats:
        window = convert.seconds(request.window, 0.0)
        view = self._queues.stats(current_principal(), require(request.queue_id, "queue_id"), window)
        return convert.stats_to_proto(view)

    async def ListQueueStats(self, request: pb.ListQueueStatsRequest, context: Context) -> \
            pb.ListQueueStatsResponse:
        views = self._queues.all_stats(current_principal(), convert.seconds(request.window, 0.0))
        return pb.ListQueueStatsResponse(stats=[convert.stats_to_proto(v) for v in views])

    # ----- work ------------------------------------------------------------------------

    async def EnqueueWork(self, request: pb.EnqueueWorkRequest, context: Context) -> pb.WorkItem:
        return convert.work_to_proto(await self._work.enqueue(convert.work_from_proto(request.work)))

    async def GetWorkItem(self, request: pb.GetWorkItemRequest, context: Context) -> pb.WorkItem:
        return convert.work_to_proto(await self._work.get(current_principal(), request.id))

    async def ListWorkItems(self, request: pb.ListWorkItemsRequest, context: Context) -> pb.ListWorkItemsResponse:
        size = page_size(request.page_size)
        asked = [request.queue_id, request.state]
        after = self._tokens.read(request.page_token, listing="work", filters=asked)
        state = convert.work_state(request.state) if request.state else None
        page = await self._work.visible(current_principal(), request.queue_id, state, PageRequest(size, after))
        return pb.ListWorkItemsResponse(work_items=[convert.work_to_proto(w) for w in page.items],
                                        next_page_token=self._tokens.issue(page.next_after, listing="work",
                                                                           filters=asked))

    async def WatchPosition(self, request: pb.WatchPositionRequest, context: Context) -> \
            AsyncIterator[pb.QueuePosition]:
        async for position in self._work.watch(current_principal(), request.work_id):
            yield convert.position_to_proto(position)

    async def AbandonWork(self, request: pb.AbandonWorkRequest, context: Context) -> pb.WorkItem:
        return convert.work_to_proto(await self._work.abandon(current_principal(), request.work_id))

    async def ScheduleCallback(self, request: pb.ScheduleCallbackRequest, context: Context) -> pb.WorkItem:
        due = seconds_of(request.due_time) if request.HasField("due_time") else 0.0
        work = await self._work.schedule_callback(current_principal(), request.work_id, request.number, due)
        return convert.work_to_proto(work)

    async def ListCallbackSlots(self, request: pb.ListCallbackSlotsRequest, context: Context) -> \
            pb.ListCallbackSlotsResponse:
        if request.max_slots < 0:
            raise InvalidArgument("max_slots must not be negative")
        found, zone = await self._callback_times.slots(current_principal(), request.work_id, request.max_slots)
        return pb.ListCallbackSlotsResponse(slots=[convert.slot_to_proto(s) for s in found], time_zone=zone)

    async def TransferWork(self, request: pb.TransferWorkRequest, context: Context) -> pb.WorkItem:
        work = await self._work.transfer(current_principal(), request.work_id,
                                         convert.transfer_reason(request.reason_code), request.reason,
                                         request.target_queue_id, request.target_agent_id)
        return convert.work_to_proto(work)

    # ----- follow-ups -------------------------------------------------------------------

    async def ScheduleFollowUp(self, request: pb.ScheduleFollowUpRequest, context: Context) -> pb.WorkItem:
        work = await self._follow_ups.schedule(
            current_principal(), request.work_id, channel_from_proto(request.channel),
            seconds_of(request.due_time) if request.HasField("due_time") else 0.0, request.group, request.note,
            request.request_id)
        return convert.work_to_proto(work)

    async def CancelFollowUp(self, request: pb.CancelFollowUpRequest, context: Context) -> pb.WorkItem:
        return convert.work_to_proto(await self._follow_ups.cancel(current_principal(), request.work_id,
                                                                    request.reason))

    async def ListFollowUps(self, request: pb.ListFollowUpsRequest, context: Context) -> pb.ListFollowUpsResponse:
        due_after = seconds_of(request.due_after) if request.HasField("due_after") else 0.0
        due_before = seconds_of(request.due_before) if request.HasField("due_before") else 0.0
        after = self._tokens.read(request.page_token, listing="follow_ups", filters=[due_after, due_before])
        page = await self._follow_ups.due_between(current_principal(), due_after, due_before,
                                                  PageRequest(page_size(request.page_size), after))
        return pb.ListFollowUpsResponse(
            work_items=[convert.work_to_proto(w) for w in page.items],
            next_page_token=self._tokens.issue(page.next_after, listing="follow_ups", filters=[due_after, due_before]))

    # ----- agent desktop and bots ------------------------------------------------------

    async def AgentSession(self, request_iterator: AsyncIterator[pb.AgentCommand], context: Context) -> \
            AsyncIterator[pb.AgentEvent]:
        agent_id = convert.login_agent_id(await anext(aiter(request_iterator), None))
        async for event in self._sessions.session(current_principal(), agent_id, _commands(request_iterator)):
            yield convert.desktop_event_to_proto(event)

    async def TakeBotWork(self, request: pb.TakeBotWorkRequest, context: Context) -> pb.TakeBotWorkResponse:
        taken = await self._bots.take(require(request.worker_id, "worker_id"), list(request.queue_ids),
                                      convert.seconds(request.wait, 0.0))
        return pb.TakeBotWorkResponse(work=convert.work_to_proto(taken) if taken is not None else None)

    async def RenewBotClaim(self, request: pb.RenewBotClaimRequest, context: Context) -> pb.RenewBotClaimResponse:
        expires = await self._bots.renew(require(request.work_id, "work_id"), require(request.worker_id, "worker_id"))
        return pb.RenewBotClaimResponse(expire_time=timestamp_from_seconds(expires))

    async def CompleteBotWork(self, request: pb.CompleteBotWorkRequest, context: Context) -> pb.WorkItem:
        work = await self._bots.complete(require(request.work_id, "work_id"), request.resolved,
                                         request.handoff_queue_id, request.reason, request.worker_id)
        return convert.work_to_proto(work)
