"""What supervision reads from routing, with its own service token: queues, their statistics
over the last 15 minutes and since midnight (UTC), agents, and the work held by agents, waiting
for a callback or with the bots. One read serves every watcher of a replica."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration

from omni.runtime.clients import channel
from omni.runtime.clock import utcnow
from omni.runtime.proto_values import channel_from_proto, to_datetime
from omni.runtime.token_source import TokenSource
from omni.supervision.domain.floor import AgentInfo, LiveWork, QueueInfo, RoutingView
from omni.supervision.domain.queue_health import QueueFigures
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc

RECENT = 15 * 60.0
HOUR = 3600.0
PAGE = 200
# Pages read of one list at most (a floor of more than 2000 agents or items would be cut here).
MAX_PAGES = 10
# Codes of a read that failed because routing was away, not because it refused.
_AWAY = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED})
_STATUS = {routing_pb2.AGENT_STATUS_OFFLINE: "offline", routing_pb2.AGENT_STATUS_AVAILABLE: "available",
           routing_pb2.AGENT_STATUS_BUSY: "busy", routing_pb2.AGENT_STATUS_WRAP_UP: "wrap_up",
           routing_pb2.AGENT_STATUS_BREAK: "break"}


def _seconds(value: Duration) -> float:
    return value.ToNanoseconds() / 1e9


def figures(stats: routing_pb2.QueueStats) -> QueueFigures:
    return QueueFigures(queue_id=stats.queue_id, waiting=stats.waiting, longest_wait=_seconds(stats.longest_wait),
                        offered=stats.offered, answered=stats.answered, abandoned=stats.abandoned,
                        service_level=stats.service_level, bot_waiting=stats.bot_waiting)


class RoutingReader:
    def __init__(self, address: str, token: TokenSource, timeout: float, *, tls_ca_file: str = "") -> None:
        self._channel = channel(address, token, tls_ca_file=tls_ca_file)
        self._stub = routing_pb2_grpc.RoutingServiceStub(self._channel)
        self._timeout = timeout

    async def close(self) -> None:
        await self._channel.close()

    async def queue_figures(self, window: float) -> dict[str, QueueFigures]:
        response = await self._stub.ListQueueStats(
            routing_pb2.ListQueueStatsRequest(window=Duration(seconds=int(window))), timeout=self._timeout)
        return {stats.queue_id: figures(stats) for stats in response.stats}

    async def queues(self) -> list[QueueInfo]:
        found = await self._pages(lambda token: self._stub.ListQueues(
            routing_pb2.ListQueuesRequest(page_size=PAGE, page_token=token), timeout=self._timeout), "queues")
        return [QueueInfo(q.id, q.display_name or q.id, tuple(q.groups), q.service_level_percent / 100.0)
                for q in found]

    async def read(self) -> RoutingView:
        """Routing's view now; what could not be read is named in `degraded`, the rest still shown."""
        now = utcnow()
        try:
            queues, recent, today, agents = await asyncio.gather(
                self.queues(), self.queue_figures(RECENT), self.queue_figures(today_window(now)), self._agents())
            held = await asyncio.gather(*(self._work(q.id, state) for q in queues for state in (
                routing_pb2.WORK_STATE_ASSIGNED, routing_pb2.WORK_STATE_CALLBACK_SCHEDULED,
                routing_pb2.WORK_STATE_OVERFLOWED_TO_BOT)))
        except grpc.aio.AioRpcError as exc:
            return RoutingView(read_at=now, degraded=(f"routing: {_why(exc.code())}",))
        assigned, callbacks, bots = held[0::3], held[1::3], held[2::3]
        return RoutingView(
            queues=queues, recent=recent, today=today, agents=agents,
            live_work=[_live(w) for items in assigned for w in items],
            callbacks={q.id: len(items) for q, items in zip(queues, callbacks, strict=True)},
            bot_held={q.id: len(items) for q, items in zip(queues, bots, strict=True)}, read_at=now)

    async def _agents(self) -> list[AgentInfo]:
        found = await self._pages(lambda token: self._stub.ListAgents(
            routing_pb2.ListAgentsRequest(page_size=PAGE, page_token=token), timeout=self._timeout), "agents")
        return [AgentInfo(a.id, a.display_name or a.id, tuple(a.groups), _STATUS.get(a.status, "offline"),
                          a.status_reason, to_datetime(a.status_time) if a.HasField("status_time") else None,
                          a.supervisor) for a in found]

    async def _work(self, queue_id: str, state: routing_pb2.WorkState.ValueType) -> list[routing_pb2.WorkItem]:
        return await self._pages(lambda token: self._stub.ListWorkItems(routing_pb2.ListWorkItemsRequest(
            queue_id=queue_id, state=state, page_size=PAGE, page_token=token), timeout=self._timeout), "work_items")

    @staticmethod
    async def _pages(call: Callable[[str], Awaitable[Any]], field: str) -> list[Any]:
        items: list[Any] = []
        token = ""
        for _ in range(MAX_PAGES):
            response = await call(token)
            items.extend(getattr(response, field))
            token = response.next_page_token
            if not token:
                break
        return items


def _why(code: grpc.StatusCode) -> str:
    """What the floor says of a failed read: a routing replica stopping, restarting or out of
    reach is "unavailable" (whether the call was refused, cut off or timed out); other codes by name."""
    return "unavailable" if code in _AWAY else code.name.lower()


def _live(work: routing_pb2.WorkItem) -> LiveWork:
    return LiveWork(work_id=work.id, session_id=work.session_id or work.id, queue_id=work.queue_id,
                    channel=channel_from_proto(work.channel), agent_id=work.assigned_agent_id,
                    emotion_score=work.emotion_score, urgent=work.urgent,
                    answered_at=to_datetime(work.answer_time) if work.HasField("answer_time") else None)


def today_window(now: dt.datetime) -> float:
    """Seconds since midnight (UTC), at least the recent window: "today" in routing's statistics."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(RECENT, (now - midnight).total_seconds())
