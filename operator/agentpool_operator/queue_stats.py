"""Live queue statistics from the routing service (`GetQueueStats`), as the pool's load."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import grpc
from google.protobuf.duration_pb2 import Duration

from agentpool_operator.scaling import PoolLoad
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc

log = logging.getLogger("agentpool_operator.queue_stats")


class QueueStatsReader:
    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float) -> None:
        self._stub = routing_pb2_grpc.RoutingServiceStub(channel)
        self._timeout = timeout_seconds

    async def pool_load(self, queue_ids: Sequence[str], window_seconds: int) -> PoolLoad | None:
        """The load summed over the pool's queues; None (hold) if any queue could not be read."""
        window = Duration(seconds=window_seconds)

        async def read(queue_id: str) -> routing_pb2.QueueStats:
            # Made inside the task: on a closed channel the call raises as it is made.
            return await self._stub.GetQueueStats(routing_pb2.GetQueueStatsRequest(queue_id=queue_id, window=window),
                                                  timeout=self._timeout)

        # Every call settles before this returns: a call left running after another failed would
        # fail on its own later (the channel closed at shutdown), and Kopf raises what the tasks it
        # finds at its exit failed with.
        answers = await asyncio.gather(*(read(q) for q in queue_ids), return_exceptions=True)
        stats = [a for a in answers if isinstance(a, routing_pb2.QueueStats)]
        if len(stats) == len(answers):
            return combine(stats)
        failure = next(a for a in answers if not isinstance(a, routing_pb2.QueueStats))
        if isinstance(failure, grpc.aio.AioRpcError):
            log.warning("queue statistics unavailable for %s: %s %s", ",".join(queue_ids), failure.code().name,
                        failure.details())
        elif isinstance(failure, grpc.aio.UsageError):
            log.info("queue statistics not read for %s: the operator is stopping (%s)", ",".join(queue_ids), failure)
        else:
            raise failure
        return None


def combine(stats: Sequence[routing_pb2.QueueStats]) -> PoolLoad:
    """Sum the queues: arrivals add up, handle time is weighted by answered contacts, age is the oldest."""
    answered = sum(s.answered for s in stats)
    handle = sum(s.average_handle_time.ToTimedelta().total_seconds() * s.answered for s in stats)
    return PoolLoad(
        as_of=min(s.as_of.ToMicroseconds() / 1e6 if s.HasField("as_of") else 0.0 for s in stats),
        waiting=sum(s.waiting for s in stats),
        bot_waiting=sum(s.bot_waiting for s in stats),
        bot_in_progress=sum(s.bot_in_progress for s in stats),
        arrivals_per_second=sum(s.arrival_rate for s in stats),
        average_handle_seconds=handle / answered if answered else 0.0,
    )
