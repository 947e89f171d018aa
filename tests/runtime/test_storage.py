"""Storage: optimistic concurrency and idempotent effects against the MongoDB-protocol server."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from omni.runtime import storage
from omni.runtime.auth import Role
from omni.runtime.errors import Conflict, NotFound
from tests.runtime import probe


@pytest.fixture
async def db(mongo, settings):  # type: ignore[no-untyped-def]
    client = storage.connect(mongo.url)
    yield client, client[settings.mongo_database]
    await client.close()


async def test_two_concurrent_updates_with_same_version_exactly_one_wins(db) -> None:  # type: ignore[no-untyped-def]
    _, database = db
    await database["tickets"].insert_one({"_id": "T-1", "version": 3, "subject": "old"})

    async def update(subject: str) -> str:
        made = await storage.update_versioned(database["tickets"], {"_id": "T-1"}, 3, {"$set": {"subject": subject}},
                                              what="ticket T-1")
        assert made == 4
        return subject

    results = await asyncio.gather(update("from agent A"), update("from agent B"), return_exceptions=True)
    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1
    assert "changed by someone else" in losers[0].message and "version 4" in losers[0].message
    stored = await database["tickets"].find_one({"_id": "T-1"})
    assert stored == {"_id": "T-1", "version": 4, "subject": winners[0]}


async def test_versioned_update_of_missing_document_is_not_found(db) -> None:  # type: ignore[no-untyped-def]
    _, database = db
    with pytest.raises(NotFound, match="ticket T-404 does not exist"):
        await storage.update_versioned(database["tickets"], {"_id": "T-404"}, 0, {"$set": {"x": 1}},
                                       what="ticket T-404")


async def test_stale_version_over_grpc_is_aborted(start_service, token_for) -> None:  # type: ignore[no-untyped-def]
    host = await start_service(probe.SPEC)
    assert host.runtime is not None
    await host.runtime.db["docs"].insert_one({"_id": "d1", "version": 0})
    supervisor = token_for(Role.SUPERVISOR)
    assert await probe.call(host.address, "Bump", b"d1:0", supervisor) == b"1"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await probe.call(host.address, "Bump", b"d1:0", supervisor)
    assert err.value.code() == grpc.StatusCode.ABORTED
    assert "reload it" in (err.value.details() or "")


async def test_processed_events_apply_an_effect_once(db) -> None:  # type: ignore[no-untyped-def]
    client, database = db
    await storage.ensure_indexes(database, storage.processed_event_indexes(3600))
    processed = storage.ProcessedEvents(client, database, "tickets")

    async def effect(session):  # type: ignore[no-untyped-def]
        await database["counters"].update_one({"_id": "c"}, {"$inc": {"n": 1}}, upsert=True, session=session)

    outcomes = [await processed.run_once("evt-1", effect) for _ in range(3)]
    assert outcomes == [True, False, False]
    assert (await database["counters"].find_one({"_id": "c"}))["n"] == 1
    # Another consumer has its own record of the same event.
    assert await storage.ProcessedEvents(client, database, "routing").run_once("evt-1", effect)


async def test_failed_effect_leaves_no_trace_and_can_be_retried(db) -> None:  # type: ignore[no-untyped-def]
    client, database = db
    await storage.ensure_indexes(database, storage.processed_event_indexes(3600))
    processed = storage.ProcessedEvents(client, database, "tickets")

    async def failing(session):  # type: ignore[no-untyped-def]
        await database["counters"].update_one({"_id": "c"}, {"$inc": {"n": 1}}, upsert=True, session=session)
        raise RuntimeError("downstream failed")

    with pytest.raises(RuntimeError):
        await processed.run_once("evt-2", failing)
    assert await database["counters"].find_one({"_id": "c"}) is None
    assert not await processed.seen("evt-2")
