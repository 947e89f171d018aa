"""Two routing replicas in this process on one NATS and database, and who owns which partition
(read from the lease bucket, as any replica does)."""

from __future__ import annotations

import contextlib
import json

import nats

from omni.routing.leases import BUCKET, key_part
from omni.routing.service import SPEC
from omni.runtime.config import ServiceSettings
from omni.runtime.server import ServiceHost
from tests.conftest import StartService
from tests.support.polling import eventually
from tests.support.settings import routing_settings


async def owners(nats_url: str) -> dict[str, str]:
    """Partition (as its lease key part) -> address of the replica holding its lease now."""
    nc = await nats.connect(nats_url, name="test-owners")
    try:
        kv = await nc.jetstream().key_value(BUCKET)
        found: dict[str, str] = {}
        with contextlib.suppress(nats.js.errors.NoKeysError):
            for key in await kv.keys():
                if key.startswith("owner."):
                    with contextlib.suppress(nats.js.errors.KeyNotFoundError):
                        found[key.removeprefix("owner.")] = json.loads((await kv.get(key)).value or b"{}")["address"]
        return found
    finally:
        await nc.close()


def partition_of(group: str) -> str:
    """The lease key part of the partition named after its smallest group."""
    return key_part(f"g:{group}")


async def second_replica(start_service: StartService, settings: ServiceSettings, first: str,
                         groups: tuple[str, str], **changes: object) -> ServiceHost:
    """Start another replica next to the one at `first` and wait until the partitions named after `groups`
    are split between the two (the newcomer takes its fair share: one of two)."""
    second = await start_service(SPEC, settings_override=routing_settings(settings, **changes))
    wanted = {partition_of(g) for g in groups}

    async def split() -> dict[str, str]:
        held = await owners(settings.nats_url)
        return held if wanted <= held.keys() and {held[p] for p in wanted} == {first, second.address} \
            else {}

    await eventually(split, what=f"partitions {sorted(wanted)} split between the two replicas", within=30)
    return second
