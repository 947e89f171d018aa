"""Issue 13, item 9: bounded streams and tables. Before, every JetStream stream (dead letters
included) kept every event for ever and `processed_events` grew by one record per event handled,
until a disk filled. Now each stream has an age and a size limit from the settings, and the
processed-event records expire, later than any stream could deliver their event again."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from google.protobuf.wrappers_pb2 import BytesValue

from omni.runtime import storage
from omni.runtime.config import ConfigError, ServiceSettings
from omni.runtime.events import DEADLETTER_STREAM, DOMAINS, EventBus, StreamLimits, stream_name
from tests.conftest import StartService
from tests.runtime import probe
from tests.support.polling import eventually

LIMITS = {"event_stream_max_age_seconds": 3600.0, "event_stream_max_bytes": 256 * 1024,
          "dead_letter_max_age_seconds": 7200.0, "dead_letter_max_bytes": 128 * 1024,
          "processed_events_ttl_seconds": 9000.0}


async def test_a_service_bounds_every_stream_and_expires_processed_events(
        start_service: StartService, settings: ServiceSettings) -> None:
    host = await start_service(probe.SPEC, **LIMITS)
    assert host.runtime is not None
    js = host.runtime.bus.js
    for domain in DOMAINS:
        config = (await js.stream_info(stream_name(domain))).config
        assert (config.max_age, config.max_bytes) == (3600.0, 256 * 1024)
    letters = (await js.stream_info(DEADLETTER_STREAM)).config
    assert (letters.max_age, letters.max_bytes) == (7200.0, 128 * 1024)
    indexes = await host.runtime.db[storage.PROCESSED_EVENTS].index_information()
    assert indexes["processed_ttl"]["expireAfterSeconds"] == 9000

    # A stream at its size drops its oldest events instead of growing.
    for n in range(40):
        await host.runtime.bus.publish("tickets", "probed", f"probe/{n}", BytesValue(value=b"x" * 16 * 1024))
    state = (await js.stream_info(stream_name("tickets"))).state
    assert state.bytes <= 256 * 1024 and state.messages < 40

    # Settings changed at the next start: the limits and the expiry follow.
    await host.stop()
    again = await start_service(probe.SPEC, **{**LIMITS, "event_stream_max_age_seconds": 1800.0,
                                               "processed_events_ttl_seconds": 12000.0})
    assert again.runtime is not None
    assert (await again.runtime.bus.js.stream_info(stream_name("routing"))).config.max_age == 1800.0
    indexes = await again.runtime.db[storage.PROCESSED_EVENTS].index_information()
    assert indexes["processed_ttl"]["expireAfterSeconds"] == 12000


@pytest.mark.slow  # the server's TTL monitor runs once a minute, as MongoDB's does
async def test_processed_event_records_older_than_their_ttl_are_removed(settings: ServiceSettings) -> None:
    client = storage.connect(settings.mongo_url)
    db = client[settings.mongo_database]
    try:
        await storage.ensure_indexes(db, storage.processed_event_indexes(1))
        processed = storage.ProcessedEvents(client, db, "tickets")

        async def nothing(session: object) -> None:
            return None

        assert await processed.run_once("evt-old", nothing)  # type: ignore[arg-type]
        await db[storage.PROCESSED_EVENTS].update_one({"event_id": "evt-old"},
                                                      {"$set": {"at": dt.datetime.now(dt.UTC) - dt.timedelta(days=1)}})
        await eventually(lambda: db[storage.PROCESSED_EVENTS].count_documents({}), lambda n: n == 0,
                         what="the expired record removed by the server", within=150)
    finally:
        await client.close()


def test_a_ttl_shorter_than_the_streams_keep_events_is_refused(settings: ServiceSettings) -> None:
    with pytest.raises(ConfigError, match="OMNI_PROCESSED_EVENTS_TTL_SECONDS"):
        dataclasses.replace(settings, processed_events_ttl_seconds=3600.0,
                            event_stream_max_age_seconds=7200.0).processed_events_ttl()
    with pytest.raises(ConfigError, match="neither may be 0"):
        dataclasses.replace(settings, event_stream_max_age_seconds=0.0).processed_events_ttl()


async def test_a_tool_connecting_without_limits_leaves_the_services_limits_alone(
        start_service: StartService, settings: ServiceSettings) -> None:
    await start_service(probe.SPEC, **LIMITS)
    tool = await EventBus.connect(settings.nats_url, "cli")
    try:
        assert (await tool.js.stream_info(DEADLETTER_STREAM)).config.max_bytes == 128 * 1024
        assert tool.limits is None and StreamLimits(1, 2, 3, 4).of("deadletter") == (3, 4)
    finally:
        await tool.close()
