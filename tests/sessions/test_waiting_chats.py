"""The waiting-chats cap's count, on a real MongoDB-protocol server: a burst of new chats asking
at once makes one count of the queue, not one each (each used to start its own while the last
was running, and under a burst the store spent half its time counting), and a chat that goes
away while the count runs does not take the count from the others."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from omni.devstack.processes import ManagedProcess
from omni.runtime.channels import Channel
from omni.sessions.domain.model import Session, State
from omni.sessions.repository import SessionRepository
from omni.sessions.usecases.chat import WaitingChats

AT = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


class CountingRepository(SessionRepository):
    """The real repository, telling how often the queue was counted in the store."""

    counts = 0

    async def waiting_chats(self, queue: str) -> int:
        self.counts += 1
        return await super().waiting_chats(queue)


@pytest.fixture
async def repo(mongo: ManagedProcess) -> AsyncIterator[CountingRepository]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.url)
    found = CountingRepository(client[f"sessions_waiting_{uuid.uuid4().hex[:8]}"], "CN")
    for _ in range(3):
        session = Session.open(Channel.CHAT, [], AT)
        session.queue = "web"
        session.move(State.QUEUED, AT, "first customer message")
        await found.insert(session)
    yield found
    await client.close()


async def test_a_burst_of_new_chats_makes_one_count_of_the_queue(repo: CountingRepository) -> None:
    waiting = WaitingChats(repo)
    assert await asyncio.gather(*(waiting.count("web") for _ in range(50))) == [3] * 50
    assert repo.counts == 1
    waiting.joined("web")
    assert await waiting.count("web") == 4  # within the second: the count plus who joined here
    assert repo.counts == 1


async def test_a_chat_gone_while_the_count_runs_leaves_it_to_the_others(repo: CountingRepository) -> None:
    waiting = WaitingChats(repo)
    leaving = asyncio.create_task(waiting.count("web"))
    staying = asyncio.create_task(waiting.count("web"))
    await asyncio.sleep(0)  # both are waiting for the one count
    leaving.cancel()
    assert await staying == 3
    assert repo.counts == 1
