"""A replica's copy of a session, on a real MongoDB-protocol server: reading a message of the
session (the tickets link names it) takes the copy this replica holds when the message is in it,
and the stored session when another replica wrote the message after this one last looked."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from omni.devstack.processes import ManagedProcess
from omni.runtime.channels import Channel
from omni.sessions.domain.model import Direction, Message, Session, TranscriptLimits
from omni.sessions.repository import SessionRepository

AT = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
KEEP = TranscriptLimits(max_messages=100, max_bytes=100_000)


@pytest.fixture
async def client(mongo: ManagedProcess) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    found: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.url)
    yield found
    await found.close()


async def test_a_message_written_by_another_replica_is_read_from_the_store(
        client: AsyncMongoClient[dict[str, Any]]) -> None:
    db = client[f"sessions_cache_{uuid.uuid4().hex[:8]}"]
    here = SessionRepository(db, "CN", cache_bytes=1 << 20)
    there = SessionRepository(db, "CN", cache_bytes=1 << 20)
    session = Session.open(Channel.CHAT, [], AT)
    session.add_message(Message("M-1", Direction.INBOUND, "visitor", "hello", AT), KEEP)
    await here.insert(session)
    # Stored meanwhile: the first message changed in the store only, so a read from it shows.
    await db["sessions"].update_one({"_id": session.id}, {"$set": {"messages.0.text": "as stored"}})

    held = await here.holding(session.id, "M-1")
    assert [m.text for m in held.messages] == ["hello"]  # this replica's copy: no read

    await there.mutate(session.id, lambda current: current.add_message(
        Message("M-2", Direction.INBOUND, "visitor", "still there?", AT), KEEP))
    fresh = await here.holding(session.id, "M-2")
    assert [m.id for m in fresh.messages] == ["M-1", "M-2"]
    assert fresh.messages[0].text == "as stored"  # read from the store, not the old copy
