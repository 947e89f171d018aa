"""Who owns which partition, and which replicas are alive: leases in a NATS JetStream KV bucket.

One bucket (`routing_leases`) whose entries live `lease_ttl` seconds unless rewritten:
`owner.<partition>` names the replica that owns a partition (written with `create`, so only
one replica can hold it while it lives, and renewed with `update(last=revision)`, so a holder
whose lease lapsed and was taken cannot renew it), `replica.<id>` says a replica is alive and
where it listens, `stats.<partition>` carries the owner's latest queue statistics.

The revision at which a replica created an owner entry is its **epoch** for that partition:
revisions grow over the whole bucket, so a later owner always has a higher epoch; every write
routing makes for the partition is conditional on it (`repository.py`).

A watcher keeps a local view of the bucket; entries expire on the server without telling
watchers, so an entry not rewritten within the TTL counts as gone here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import time
from typing import Any

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

log = logging.getLogger("omni.routing.leases")
BUCKET = "routing_leases"
_KEY_SAFE = re.compile(r"[^-_/.a-zA-Z0-9]")


def key_part(name: str) -> str:
    """`name` as a KV key token (and a NATS consumer name): other characters as `=xx` escapes."""
    return _KEY_SAFE.sub(lambda m: "".join(f"={b:02x}" for b in m.group().encode()), name).replace(".", "=2e")


@dataclasses.dataclass(frozen=True)
class Holder:
    replica: str
    address: str


@dataclasses.dataclass
class _Seen:
    value: bytes
    revision: int
    at: float


class LeaseBoard:
    def __init__(self, kv: KeyValue, ttl: float) -> None:
        self._kv = kv
        self.ttl = ttl
        self._seen: dict[str, _Seen] = {}
        self._changed = asyncio.Event()
        self._watching: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, js: JetStreamContext, ttl: float) -> LeaseBoard:
        """Bind the bucket (created, or its TTL set, when needed) and start watching it."""
        try:
            kv = await js.key_value(BUCKET)
            info = await js.stream_info(f"KV_{BUCKET}")
            if info.config.max_age != ttl:
                info.config.max_age = ttl
                await js.update_stream(info.config)
        except BucketNotFoundError:
            kv = await js.create_key_value(KeyValueConfig(bucket=BUCKET, ttl=ttl, history=1))
        board = cls(kv, ttl)
        await board._start_watching()
        return board

    async def _start_watching(self) -> None:
        watcher = await self._kv.watchall()
        initial = asyncio.get_running_loop().create_future()

        async def watch() -> None:
            async for entry in watcher:
                if entry is None:  # the end of the values present when the watch began
                    if not initial.done():
                        initial.set_result(None)
                    continue
                before = self._seen.get(entry.key)
                if entry.operation in ("DEL", "PURGE") or not entry.value:
                    self._seen.pop(entry.key, None)
                    now = None
                else:
                    now = self._seen[entry.key] = _Seen(entry.value, entry.revision or 0, time.monotonic())
                if _wakes_rounds(entry.key, before, now):
                    self._changed.set()

        self._watching = asyncio.create_task(watch(), name="routing lease watcher")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(initial), 5.0)

    async def close(self) -> None:
        if self._watching is not None:
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watching

    async def changed(self, patience: float) -> None:
        """Wait until the bucket changes (a lease released or taken), at most `patience` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), patience)
        self._changed.clear()

    # ----- owners ------------------------------------------------------------------------

    async def acquire(self, partition: str, me: Holder) -> int | None:
        """Take the lease if nobody holds it; its revision (the epoch), or None when held."""
        try:
            return await self._kv.create(f"owner.{key_part(partition)}", _holder_bytes(me))
        except KeyWrongLastSequenceError:
            return None

    async def renew(self, partition: str, revision: int, me: Holder) -> int | None:
        """Renew a lease held since `revision`; the new revision, or None when it was lost."""
        try:
            return await self._kv.update(f"owner.{key_part(partition)}", _holder_bytes(me), last=revision)
        except (KeyWrongLastSequenceError, KeyNotFoundError):
            return None

    async def release(self, partition: str, revision: int) -> None:
        """Give the lease up (if still ours at `revision`), so another replica can take it now."""
        with contextlib.suppress(NatsError):
            await self._kv.delete(f"owner.{key_part(partition)}", last=revision)

    def holder(self, partition: str) -> Holder | None:
        seen = self._live(f"owner.{key_part(partition)}")
        return _holder(seen.value) if seen is not None else None

    # ----- replicas and statistics ---------------------------------------------------

    async def announce(self, me: Holder) -> None:
        await self._kv.put(f"replica.{key_part(me.replica)}", _holder_bytes(me))

    async def withdraw(self, me: Holder) -> None:
        with contextlib.suppress(NatsError):
            await self._kv.delete(f"replica.{key_part(me.replica)}")

    def replicas(self) -> dict[str, Holder]:
        """The replicas alive now, by id."""
        found = {}
        for key in list(self._seen):
            if key.startswith("replica.") and (seen := self._live(key)) is not None:
                holder = _holder(seen.value)
                found[holder.replica] = holder
        return found

    async def layout_changed(self, version: int) -> None:
        """Wake every replica's round: the layout (in MongoDB) is at `version` now."""
        await self._kv.put("layout", str(version).encode())

    async def put_stats(self, partition: str, stats: list[dict[str, Any]]) -> None:
        await self._kv.put(f"stats.{key_part(partition)}", json.dumps(stats).encode())

    def stats(self, partition: str) -> list[dict[str, Any]]:
        seen = self._live(f"stats.{key_part(partition)}")
        return list(json.loads(seen.value)) if seen is not None else []

    def _live(self, key: str) -> _Seen | None:
        seen = self._seen.get(key)
        if seen is None or time.monotonic() - seen.at > self.ttl:
            return None
        return seen


def _wakes_rounds(key: str, before: _Seen | None, now: _Seen | None) -> bool:
    """Whether a change of the bucket is news to the ownership rounds: a lease or a replica that
    came, went or changed hands. Statistics, renewals and announcements that repeat what was there
    are not: every replica writes them each round, and waking on them kept the rounds (and their
    reads of MongoDB) going back to back."""
    if key.startswith("stats."):
        return False
    if before is None or now is None:
        return before is not now
    return before.value != now.value


def _holder_bytes(holder: Holder) -> bytes:
    return json.dumps({"replica": holder.replica, "address": holder.address}).encode()


def _holder(value: bytes) -> Holder:
    doc = json.loads(value)
    return Holder(str(doc["replica"]), str(doc["address"]))
