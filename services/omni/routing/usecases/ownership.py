"""The lease loops: which partitions this replica owns, taken, renewed, handed over and lost.

`keep` renews the leases held, every `lease_ttl / 4` and nothing else, so no other work delays
it; a lease it cannot renew is lost: the replica stops deciding for it at once (`claims`) and
reloads without it. Every round of `run` (every `lease_ttl / 4`, and at once when a lease is
released) reads the layout if it changed, hands over the partitions another live replica
should own (rendezvous hashing, so a new replica takes a fair share and nothing else moves),
and takes free partitions that are ours, or that nobody took for a while (their preferred
owner is gone).

Taking a partition: create its lease (the revision is the epoch), raise its fence in MongoDB to
that epoch, queue the events its former owner committed but did not publish, load it into the
engine and open its inbox of session events. Handing one over (a rebalance, SIGTERM): stop
deciding under the engine's lock (the last change is stored and its events queued), close its
desktops (they reconnect to the new owner), stop its inbox, then release the lease so the next
owner takes it on its next round instead of after the TTL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from omni.routing.domain.partitions import Layout, assignment, layout_of
from omni.routing.leases import Holder, LeaseBoard
from omni.routing.repository import RoutingRepository
from omni.routing.usecases.claims import Claims, Held
from omni.routing.usecases.desktops import Desktops
from omni.routing.usecases.engine_room import EngineRoom
from omni.routing.usecases.relay import EventRelay
from omni.runtime.errors import Unavailable

log = logging.getLogger("omni.routing.ownership")
# Statistics cover the last 15 minutes in what owners publish for other replicas to answer with.
STATS_WINDOW = 15 * 60.0
# A lease counts as ours for this share of the TTL after the renewal that made it was sent.
SAFE_SHARE = 0.8


class Inbox(Protocol):
    async def stop(self) -> None: ...


OpenInbox = Callable[[str], Awaitable[Inbox]]


class Ownership:
    def __init__(self, board: LeaseBoard, repository: RoutingRepository, room: EngineRoom, relay: EventRelay,
                 desktops: Desktops, me: Holder) -> None:
        self._board = board
        self._repository = repository
        self._room = room
        self._claims: Claims = room.claims
        self._relay = relay
        self._desktops = desktops
        self.me = me
        self._open_inbox: OpenInbox | None = None
        self._inboxes: dict[str, Inbox] = {}
        self._ttl = board.ttl
        self._round_every = board.ttl / 4
        self._layout_version = -1
        # Partitions new or changed by the last layout change wait a TTL: by then every former
        # owner has seen the change (it reads the layout before renewing) or lost its lease.
        self._settling: dict[str, float] = {}
        self._free_since: dict[str, float] = {}
        self._stopping = False
        self._rounds = asyncio.Lock()
        # Held while a lease is written (renewed, released), so a release names the last revision.
        self._lease_io = asyncio.Lock()
        # Partitions whose lease was lost since the last round (the round reloads without them).
        self._lost: set[str] = set()

    async def start(self, open_inbox: OpenInbox) -> None:
        """Join: announce this replica, read the layout and take what is ours and free;
        `open_inbox` starts a taken partition's session events."""
        self._open_inbox = open_inbox
        await self._board.announce(self.me)
        await self.round()

    async def keep(self) -> None:
        """Renew the leases held, for good."""
        while True:
            started = time.monotonic()
            try:
                await self._renew(started)
            except Exception:
                log.exception("renewing routing leases failed")
            await asyncio.sleep(max(0.0, self._round_every - (time.monotonic() - started)))

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.round()
            except Exception:
                log.exception("routing lease round failed")
            await self._board.changed(self._round_every)

    async def round(self) -> None:
        async with self._rounds:
            if self._stopping:
                # Handed over: a round waiting on the lock meanwhile would announce this replica
                # again, and the others would keep its partitions for it until that ran out.
                return
            await self._round()

    async def _round(self) -> None:
        await self._refresh_layout()
        await self._board.announce(self.me)
        for partition in sorted(self._lost):
            self._lost.discard(partition)
            await self._give_up(partition, release=False)
        if self._room.stale.is_set():
            await self._reload()
        if not self._stopping:
            await self._rebalance()
        for partition, held in sorted(self._claims.held.items()):
            await self._room.take_strays(self._claims.layout.members(partition)[0], held.epoch)
        await self._publish_stats()

    async def hand_over(self) -> None:
        """Give every partition up now (SIGTERM), so other replicas take them at once."""
        self._stopping = True
        async with self._rounds:
            await self._board.withdraw(self.me)
            for partition in sorted(self._claims.held):
                await self._give_up(partition, release=True)
        await self._relay.drained()

    # ----- the steps of a round ------------------------------------------------------------

    async def _refresh_layout(self) -> None:
        version = await self._repository.layout_version()
        if version == self._layout_version:
            return
        queues, agents = await self._repository.members()
        before = self._claims.layout
        after = layout_of(queues, agents).keeping(before)
        self._claims.layout = after
        first = self._layout_version < 0
        self._layout_version = version
        if first:
            return
        now = time.monotonic()
        for partition in after.partitions():
            if after.moved(before, partition):
                self._settling[partition] = now + self._ttl
        for partition in sorted(self._claims.held):
            if partition in after.partitions() and not after.moved(before, partition):
                queues_now, agents_now = after.members(partition)
                await self._room.adopt(queues_now, agents_now)  # adds only what the engine lacks
            else:
                log.info("partition %s changed its members; giving it up to take it again", partition)
                await self._give_up(partition, release=True, layout=before)

    async def _renew(self, started: float) -> None:
        async with self._lease_io:
            held = list(self._claims.held.items())
            renewed = await asyncio.gather(*(self._board.renew(p, h.revision, self.me) for p, h in held))
            for (partition, lease), revision in zip(held, renewed, strict=True):
                if self._claims.held.get(partition) is not lease:
                    continue  # given up meanwhile
                if revision is None:
                    log.warning("lost the lease on partition %s; it stops being decided here", partition)
                    del self._claims.held[partition]
                    self._lost.add(partition)
                    self._room.stale.set()
                    continue
                lease.revision = revision
                lease.good_until = started + self._ttl * SAFE_SHARE

    async def _rebalance(self) -> None:
        layout = self._claims.layout
        alive = set(self._board.replicas()) | {self.me.replica}
        preferred = assignment(layout.partitions(), alive)
        mine = {p for p, owner in preferred.items() if owner == self.me.replica}
        now = time.monotonic()
        for partition in sorted(set(self._claims.held) - mine):
            log.info("handing partition %s over to replica %s", partition, preferred.get(partition))
            await self._give_up(partition, release=True)
        for partition in sorted(layout.partitions() - set(self._claims.held)):
            settling = len(alive) > 1 and self._settling.get(partition, 0.0) > now
            if self._board.holder(partition) is not None or settling:
                self._free_since.pop(partition, None)
                continue
            free_since = self._free_since.setdefault(partition, now)
            log.debug("partition %s is free (since %.1f s); ours: %s", partition, now - free_since, partition in mine)
            # Ours, or free for a while: its preferred owner is gone or busy.
            if partition in mine or now - free_since >= self._ttl / 2:
                await self._take(partition)
        for partition in [p for p, until in self._settling.items() if until <= now]:
            del self._settling[partition]

    async def _take(self, partition: str) -> None:
        started = time.monotonic()
        epoch = await self._board.acquire(partition, self.me)
        if epoch is None:
            return
        self._claims.held[partition] = Held(epoch, epoch, started + self._ttl * SAFE_SHARE)
        self._free_since.pop(partition, None)
        queues, agents = self._claims.layout.members(partition)
        try:
            await self._room.adopt(queues, agents, epoch)
        except Exception:
            log.exception("loading partition %s failed; giving it up", partition)
            await self._give_up(partition, release=True)
            return
        if self._open_inbox is not None:
            self._inboxes[partition] = await self._open_inbox(partition)
        log.info("took partition %s (epoch %d): %d queues, %d agents in %.0f ms", partition, epoch, len(queues),
                 len(agents), (time.monotonic() - started) * 1000)

    async def _give_up(self, partition: str, *, release: bool, layout: Layout | None = None) -> None:
        inbox = self._inboxes.pop(partition, None)
        if inbox is not None:
            await inbox.stop()
        _, agents = (layout or self._claims.layout).members(partition)
        async with self._room.lock:
            async with self._lease_io:
                held = self._claims.held.pop(partition, None)
            self._desktops.close_all(agents, "routing moved this agent's partition to another replica; reconnect")
            await self._reload_locked()
        if release and held is not None:
            async with self._lease_io:
                await self._board.release(partition, held.revision)

    async def _reload(self) -> None:
        async with self._room.lock:
            await self._reload_locked()

    async def _reload_locked(self) -> None:
        queues: set[str] = set()
        agents: set[str] = set()
        for partition in self._claims.held:
            more_queues, more_agents = self._claims.layout.members(partition)
            queues |= more_queues
            agents |= more_agents
        try:
            await self._room.rebuild(queues, agents)
        except Unavailable as exc:
            # Another lease ran out meanwhile: the engine stays stale and the next round reloads.
            log.warning("reloading routing failed: %s", exc)

    async def _publish_stats(self) -> None:
        engine = self._room.engine
        for partition in sorted(self._claims.held):
            queues, _ = self._claims.layout.members(partition)
            # With the queue's groups, so that other replicas apply the access rule to them.
            views: list[dict[str, Any]] = [{**dataclasses.asdict(engine.queue_stats(q, STATS_WINDOW)),
                                            "groups": list(engine.queue(q).groups)}
                                           for q in sorted(queues) if engine.has_queue(q)]
            await self._board.put_stats(partition, views)

    def published_stats(self, partition: str) -> list[dict[str, Any]]:
        """The figures the owner of `partition` published last (empty when none are live)."""
        return self._board.stats(partition)

    async def layout_changed(self) -> None:
        """A queue or agent was added or regrouped: tell every replica (the version in MongoDB,
        and on the board, which wakes their rounds), and re-read it here now."""
        await self._board.layout_changed(await self._repository.layout_changed())
        await self.round()

