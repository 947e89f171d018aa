"""Issue 13, item 9: bounded streams and tables. Before, every JetStream stream (dead letters
included) kept every event for ever and `processed_events` grew by one record per event handled,
until a disk filled. Now each stream has an age and a size limit from the settings, and the
processed-event records expire, later than any stream could deliver their event again."""

from __future__ import annotations

import dataclasses

import pytest
from google.protobuf.wrappers_pb2 import BytesValue

from omni.runtime import storage
from omni.runtime.config import ConfigError, ServiceSettings
from omni.runtime.events import DEADLETTER_STREAM, DOMAINS, EventBus, StreamLimits, stream_name
from tests.conftest import StartService
from tests.runtime import probe

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
