"""Routing state in MongoDB: agents, queues and work items (live and finished), the fences of
the partitions, the outbox of events not yet published, and the layout's version.

Every write of routing state for a partition runs in one transaction with the events it
publishes (the outbox) and an increment of the partition's fence, on the condition that the
fence still holds the writer's epoch. A replica that takes a partition raises its fence to its
new epoch first; a former owner that still writes then matches nothing and its whole change
is refused (a write already under way finishes before the raise, so the new owner loads it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel, ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from omni.routing.domain.access import WorkScope
from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.outbox import OutboxEntry
from omni.routing.domain.partitions import Member
from omni.routing.domain.queues import BusinessHours, Policy, QueueConfig
from omni.routing.domain.work import FINISHED_STATES, Reason, Work, WorkState
from omni.runtime.channels import Channel
from omni.runtime.storage import Document, IndexDeclarations

AGENTS, QUEUES, WORK = "agents", "queues", "work_items"
FENCES, OUTBOX, LAYOUT = "routing_fences", "routing_outbox", "routing_layout"
INDEXES: IndexDeclarations = {
    OUTBOX: [IndexModel([("partition", ASCENDING), ("epoch", ASCENDING), ("n", ASCENDING)], name="partition_order")],
    WORK: [
        IndexModel([("state", ASCENDING), ("seq", ASCENDING)], name="state_seq"),
        IndexModel([("queue_id", ASCENDING), ("state", ASCENDING), ("seq", ASCENDING)], name="queue_state_seq"),
        IndexModel([("end_time", ASCENDING)], name="end_time"),
    ],
}


def work_to_doc(work: Work) -> Document:
    doc = dataclasses.asdict(work)
    doc["_id"] = doc.pop("id")
    doc["channel"] = work.channel.value
    doc["state"] = work.state.value
    doc["identities"] = [list(pair) for pair in work.identities]
    return doc


def work_from_doc(doc: Document) -> Work:
    fields = {k: v for k, v in doc.items() if k != "_id"}
    fields["channel"] = Channel(fields["channel"])
    fields["state"] = WorkState(fields["state"])
    fields["identities"] = tuple((int(k), str(v)) for k, v in fields.get("identities", ()))
    fields["reasons"] = [Reason(**r) for r in fields.get("reasons", ())]
    known = {f.name for f in dataclasses.fields(Work)}
    return Work(id=doc["_id"], **{k: v for k, v in fields.items() if k in known})


def agent_to_doc(agent: Agent) -> Document:
    return {
        "_id": agent.id, "display_name": agent.display_name, "groups": list(agent.groups),
        "skills": agent.skills, "languages": list(agent.languages),
        "capacity": {c.value: n for c, n in agent.capacity.items()}, "supervisor": agent.supervisor,
        "status": agent.status.value, "status_reason": agent.status_reason, "status_time": agent.status_time,
        "missed_offers": agent.missed_offers, "idle_since": agent.idle_since, "version": agent.version,
    }


def agent_from_doc(doc: Document) -> Agent:
    return Agent(
        id=doc["_id"], display_name=doc.get("display_name", ""), groups=tuple(doc.get("groups", ())),
        skills=dict(doc.get("skills", {})), languages=tuple(doc.get("languages", ())),
        capacity={Channel(c): int(n) for c, n in doc.get("capacity", {}).items()},
        supervisor=bool(doc.get("supervisor")), status=AgentStatus(doc.get("status", "offline")),
        status_reason=doc.get("status_reason", ""), status_time=float(doc.get("status_time", 0.0)),
        missed_offers=int(doc.get("missed_offers", 0)), idle_since=float(doc.get("idle_since", 0.0)),
        version=int(doc.get("version", 0)),
    )


def queue_to_doc(queue: QueueConfig) -> Document:
    doc = dataclasses.asdict(queue)
    doc["_id"] = doc.pop("id")
    return doc


def queue_from_doc(doc: Document) -> QueueConfig:
    fields: dict[str, Any] = {k: v for k, v in doc.items() if k != "_id"}
    policy: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.pop("policy").items()}
    hours: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.pop("hours").items()}
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    return QueueConfig(id=doc["_id"], policy=Policy(**policy), hours=BusinessHours(**hours), **fields)


def scope_filter(scope: WorkScope) -> Document:
    """The query of the work a caller may see (`domain/access.py` defines the scope)."""
    query: Document = {}
    if scope.queue_ids is not None:
        query["queue_id"] = {"$in": sorted(scope.queue_ids)}
    if scope.session_id is not None:
        query["session_id"] = scope.session_id
    return query


class Fenced(Exception):
    """A write for a partition whose fence moved past the writer's epoch: another replica owns it."""

    def __init__(self, partition: str) -> None:
        super().__init__(f"partition {partition} is fenced: another replica owns it now")
        self.partition = partition


def _outbox_doc(entry: OutboxEntry) -> Document:
    return {"_id": f"{entry.partition}:{entry.epoch}:{entry.n}", **dataclasses.asdict(entry)}


def _outbox_entry(doc: Document) -> OutboxEntry:
    return OutboxEntry(doc["partition"], int(doc["epoch"]), int(doc["n"]), doc["event_type"], doc["subject"],
                       doc["event_id"], bytes(doc["payload"]))


class RoutingRepository:
    def __init__(self, db: AsyncDatabase[Document], client: AsyncMongoClient[Document] | None = None) -> None:
        self._client = client
        self._agents = db[AGENTS]
        self._queues = db[QUEUES]
        self._work = db[WORK]
        self._fences = db[FENCES]
        self._outbox = db[OUTBOX]
        self._layout = db[LAYOUT]

    async def save(self, work: Iterable[Work] = (), agents: Iterable[Agent] = (),
                   outbox: Iterable[OutboxEntry] = (), fences: Mapping[str, int] | None = None) -> None:
        """Write the changed documents and the outbox in one transaction, if every partition in
        `fences` still has the epoch given (else `Fenced`, and nothing is written)."""
        work_ops = [ReplaceOne({"_id": w.id}, work_to_doc(w), upsert=True) for w in work]
        agent_ops = [ReplaceOne({"_id": a.id}, agent_to_doc(a), upsert=True) for a in agents]
        entries = [_outbox_doc(e) for e in outbox]
        if not (work_ops or agent_ops or entries):
            return
        if self._client is None or not fences:
            await self._write(work_ops, agent_ops, entries)
            return
        async with self._client.start_session() as session, await session.start_transaction():
            for partition, epoch in sorted(fences.items()):
                # A write, not a read: it conflicts with the new owner's raise of the fence.
                held = await self._fences.update_one({"_id": partition, "epoch": epoch}, {"$inc": {"writes": 1}},
                                                     session=session)
                if not held.matched_count:
                    raise Fenced(partition)
            await self._write(work_ops, agent_ops, entries, session)

    async def _write(self, work_ops: list[ReplaceOne[Document]], agent_ops: list[ReplaceOne[Document]],
                     entries: list[Document], session: Any = None) -> None:
        if work_ops:
            await self._work.bulk_write(work_ops, ordered=True, session=session)
        if agent_ops:
            await self._agents.bulk_write(agent_ops, ordered=True, session=session)
        if entries:
            await self._outbox.insert_many(entries, session=session)

    async def raise_fence(self, partition: str, epoch: int) -> bool:
        """Make `epoch` the partition's fence (refusing older owners' writes from now on); False
        when a newer epoch fenced it already."""
        try:
            await self._fences.update_one({"_id": partition, "epoch": {"$lt": epoch}}, {"$set": {"epoch": epoch}},
                                          upsert=True)
        except DuplicateKeyError:
            return False
        return True

    async def pending_events(self, partition: str) -> list[OutboxEntry]:
        """Events of the partition written but not yet published (a former owner's last), in order."""
        cursor = self._outbox.find({"partition": partition}).sort([("epoch", ASCENDING), ("n", ASCENDING)])
        return [_outbox_entry(d) async for d in cursor]

    async def published(self, entries: Iterable[OutboxEntry]) -> None:
        ids = [_outbox_doc(e)["_id"] for e in entries]
        if ids:
            await self._outbox.delete_many({"_id": {"$in": ids}})

    async def save_queue(self, queue: QueueConfig) -> None:
        await self._queues.replace_one({"_id": queue.id}, queue_to_doc(queue), upsert=True)

    async def layout_version(self) -> int:
        doc = await self._layout.find_one({"_id": "layout"})
        return int(doc["version"]) if doc else 0

    async def layout_changed(self) -> None:
        """Tell every replica to read the layout again (a queue or agent was added or regrouped)."""
        await self._layout.update_one({"_id": "layout"}, {"$inc": {"version": 1}}, upsert=True)

    async def members(self) -> tuple[list[Member], list[Member]]:
        """Every queue's and agent's id and groups (what the layout is made of)."""
        queues = [Member(d["_id"], tuple(d.get("groups", ()))) async for d in self._queues.find({}, {"groups": 1})]
        agents = [Member(d["_id"], tuple(d.get("groups", ()))) async for d in self._agents.find({}, {"groups": 1})]
        return queues, agents

    async def queues(self, ids: Collection[str] | None = None) -> list[QueueConfig]:
        """All queues, or those of `ids`, by id."""
        query: Document = {} if ids is None else {"_id": {"$in": sorted(ids)}}
        return [queue_from_doc(d) async for d in self._queues.find(query).sort("_id", ASCENDING)]

    async def agents(self, ids: Collection[str] | None = None) -> list[Agent]:
        query: Document = {} if ids is None else {"_id": {"$in": sorted(ids)}}
        return [agent_from_doc(d) async for d in self._agents.find(query).sort("_id", ASCENDING)]

    async def live_work(self, queue_ids: Collection[str] | None = None) -> list[Work]:
        """Work not finished (of `queue_ids` when given), in arrival order (so queues reload in
        the same order)."""
        live = [s.value for s in WorkState if s not in FINISHED_STATES]
        query: Document = {"state": {"$in": live}}
        if queue_ids is not None:
            query["queue_id"] = {"$in": sorted(queue_ids)}
        cursor = self._work.find(query).sort("seq", ASCENDING)
        return [work_from_doc(d) async for d in cursor]

    async def finished_since(self, since: float, queue_ids: Collection[str] | None = None) -> list[Work]:
        query: Document = {"end_time": {"$gte": since}}
        if queue_ids is not None:
            query["queue_id"] = {"$in": sorted(queue_ids)}
        cursor = self._work.find(query).sort("end_time", ASCENDING)
        return [work_from_doc(d) async for d in cursor]

    async def get_work(self, work_id: str) -> Work | None:
        doc = await self._work.find_one({"_id": work_id})
        return work_from_doc(doc) if doc else None

    async def work_in(self, scope: WorkScope, states: Collection[WorkState], after_seq: int,
                      limit: int) -> list[Work]:
        """Work in one of `states` within `scope`, in arrival order after `after_seq`."""
        query: Document = {"state": {"$in": [s.value for s in states]}, "seq": {"$gt": after_seq},
                           **scope_filter(scope)}
        cursor = self._work.find(query).sort("seq", ASCENDING).limit(limit)
        return [work_from_doc(d) async for d in cursor]
