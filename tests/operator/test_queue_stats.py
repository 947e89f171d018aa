"""The pool's load from routing's queue statistics when the operator is stopping: its channel to
routing is closed, and a scale round that runs then holds (None) with nothing it started left
running. Before, the round raised the channel's UsageError, which Kopf re-raised at the
operator's exit (a CI failure of tests/security/test_operator_deputy.py). An unreachable routing
is covered in tests/operator/test_operator.py."""

from __future__ import annotations

import asyncio

import grpc

from agentpool_operator.queue_stats import QueueStatsReader
from omni.devstack.processes import free_port


async def test_a_closed_channel_holds_and_leaves_no_call_running() -> None:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}")
    reader = QueueStatsReader(channel, timeout_seconds=1.0)
    await channel.close()
    before = asyncio.all_tasks()
    assert await reader.pool_load(["billing", "tech", "sales"], 900) is None
    assert asyncio.all_tasks() - before == set()

