"""Routing state in MongoDB: agents, queues and work items (live and finished)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, IndexModel, ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase

from omni.routing.domain.access import WorkScope
from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.queues import BusinessHours, Policy, QueueConfig, Ring
from omni.routing.domain.work import FINISHED_STATES, Reason, Work, WorkState
from omni.runtime.channels import Channel
from omni.runtime.storage import Document, IndexDeclarations

AGENTS, QUEUES, WORK = "agents", "queues", "work_items"
INDEXES: IndexDeclarations = {
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
    for name in ("transferred_from_agents", "transferred_from_queues"):
        fields[name] = tuple(fields.get(name, ()))
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
    known = {f.name for f in dataclasses.fields(Policy)}
    # Fields of older versions (the priority boosts) are dropped.
    policy: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.pop("policy").items()
                              if k in known}
    policy["rings"] = tuple(Ring(**ring) for ring in policy.get("rings", ()))
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


class RoutingRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._agents = db[AGENTS]
        self._queues = db[QUEUES]
        self._work = db[WORK]

    async def save(self, work: Iterable[Work] = (), agents: Iterable[Agent] = ()) -> None:
        """Write the changed documents (one round trip per collection)."""
        work_ops = [ReplaceOne({"_id": w.id}, work_to_doc(w), upsert=True) for w in work]
        if work_ops:
            await self._work.bulk_write(work_ops, ordered=True)
        agent_ops = [ReplaceOne({"_id": a.id}, agent_to_doc(a), upsert=True) for a in agents]
        if agent_ops:
            await self._agents.bulk_write(agent_ops, ordered=True)

    async def save_queue(self, queue: QueueConfig) -> None:
        await self._queues.replace_one({"_id": queue.id}, queue_to_doc(queue), upsert=True)

    async def queues(self) -> list[QueueConfig]:
        return [queue_from_doc(d) async for d in self._queues.find({}).sort("_id", ASCENDING)]

    async def agents(self) -> list[Agent]:
        return [agent_from_doc(d) async for d in self._agents.find({}).sort("_id", ASCENDING)]

    async def live_work(self) -> list[Work]:
        """Work not finished, in arrival order (so queues reload in the same order)."""
        live = [s.value for s in WorkState if s not in FINISHED_STATES]
        cursor = self._work.find({"state": {"$in": live}}).sort("seq", ASCENDING)
        return [work_from_doc(d) async for d in cursor]

    async def finished_since(self, since: float) -> list[Work]:
        cursor = self._work.find({"end_time": {"$gte": since}}).sort("end_time", ASCENDING)
        return [work_from_doc(d) async for d in cursor]

    async def get_work(self, work_id: str) -> Work | None:
        doc = await self._work.find_one({"_id": work_id})
        return work_from_doc(doc) if doc else None

    async def finished_work(self, scope: WorkScope, state: WorkState, after_seq: int, limit: int) -> list[Work]:
        """Finished work in `state` within `scope`, in arrival order after `after_seq`."""
        query: Document = {"state": state.value, "seq": {"$gt": after_seq}, **scope_filter(scope)}
        cursor = self._work.find(query).sort("seq", ASCENDING).limit(limit)
        return [work_from_doc(d) async for d in cursor]
