"""Routing state in MongoDB: agents, queues and work items (live and finished), and the
layout's version.

Each work item and agent document carries the epoch of the partition owner that wrote it last
and the events of its changes not yet published (`outbox`, written in the same single-document
write as the change, so no multi-document transaction is needed: a killed owner leaves no
transaction holding locks behind). A write is conditional on the document's epoch being at
most the writer's; a replica that takes a partition first stamps the partition's documents
with its epoch (`claim`), so a former owner's later writes to them are refused (`Fenced`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReplaceOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from omni.routing.domain.access import WorkScope
from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.attempts import AttemptPolicy
from omni.routing.domain.outbox import OutboxEntry
from omni.routing.domain.partitions import Member
from omni.routing.domain.queues import BusinessHours, Policy, QueueConfig, Ring
from omni.routing.domain.work import FINISHED_STATES, Reason, Work, WorkState
from omni.runtime.channels import Channel
from omni.runtime.storage import Document, IndexDeclarations

AGENTS, QUEUES, WORK, LAYOUT = "agents", "queues", "work_items", "routing_layout"
# One document per outbound call of a callback and its outcome: the history "best time to call"
# learns from (domain/best_time.py).
CALLS = "call_outcomes"
# A write names what it may overwrite: a document written last by this epoch or an older one.
DUPLICATE_KEY = 11000
INDEXES: IndexDeclarations = {
    WORK: [
        IndexModel([("state", ASCENDING), ("seq", ASCENDING)], name="state_seq"),
        IndexModel([("queue_id", ASCENDING), ("state", ASCENDING), ("seq", ASCENDING)], name="queue_state_seq"),
        IndexModel([("end_time", ASCENDING)], name="end_time"),
        # Follow-ups by due time (ListFollowUps, the KPI); other work has 0 there.
        IndexModel([("follow_up_due", ASCENDING), ("_id", ASCENDING)], name="follow_up_due"),
    ],
    CALLS: [
        IndexModel([("customer", ASCENDING), ("at", DESCENDING)], name="customer_at"),
        IndexModel([("segment", ASCENDING), ("at", ASCENDING)], name="segment_at"),
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
    for name in ("transferred_from_agents", "transferred_from_queues", "turn_scores", "accessibility"):
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
    attempts = fields.pop("callback_attempts", None)
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    if attempts is not None:
        fields["callback_attempts"] = AttemptPolicy(tuple(attempts["retry_delays"]), int(attempts["max_attempts"]),
                                                    str(attempts["quiet_hours"]),
                                                    tuple(attempts.get("sms_attempts", ())),
                                                    float(attempts.get("best_time_window", 0.0)))
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
    """A write for a partition whose documents carry a newer epoch: another replica owns it."""


def _outbox_doc(entry: OutboxEntry) -> Document:
    return dataclasses.asdict(entry)


def _outbox_entry(doc: Document) -> OutboxEntry:
    return OutboxEntry(doc["partition"], int(doc["epoch"]), int(doc["n"]), doc["event_type"], doc["subject"],
                       doc["event_id"], bytes(doc["payload"]))


def _not_newer(epoch: int) -> Document:
    # Every document of a partition has an epoch once its owner claimed it (`claim`).
    return {"$lte": epoch}


_LIVE = [s.value for s in WorkState if s not in FINISHED_STATES]


class RoutingRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._agents = db[AGENTS]
        self._queues = db[QUEUES]
        self._work = db[WORK]
        self._layout = db[LAYOUT]
        self._calls = db[CALLS]

    async def save(self, work: Iterable[tuple[Work, int]] = (), agents: Iterable[tuple[Agent, int]] = (),
                   outbox: Mapping[str, list[OutboxEntry]] | None = None, handed_away: Collection[str] = ()) -> None:
        """Write changed work and agents, each with its owner's epoch and its unpublished events
        (`outbox` by subject: "work/<id>", "agents/<id>"); `Fenced` when a newer owner wrote one.
        Work `handed_away` (transferred to another replica's partition) is written, under the same
        condition, with epoch 0: any owner of its new partition may take it."""
        pending = outbox or {}

        def stamped(doc: Document, subject: str, epoch: int, kept: int) -> ReplaceOne[Document]:
            doc = {**doc, "epoch": kept, "outbox": [_outbox_doc(e) for e in pending.get(subject, ())]}
            return ReplaceOne({"_id": doc["_id"], "epoch": _not_newer(epoch)}, doc, upsert=True)

        work_ops = [stamped(work_to_doc(w), f"work/{w.id}", epoch, 0 if w.id in handed_away else epoch)
                    for w, epoch in work]
        agent_ops = [stamped(agent_to_doc(a), f"agents/{a.id}", epoch, epoch) for a, epoch in agents]
        try:
            if work_ops:
                await self._work.bulk_write(work_ops, ordered=True)
            if agent_ops:
                await self._agents.bulk_write(agent_ops, ordered=True)
        except BulkWriteError as exc:
            if any(e.get("code") == DUPLICATE_KEY for e in exc.details.get("writeErrors", ())):
                raise Fenced("a newer owner of the partition wrote these documents") from exc
            raise

    async def create_agent(self, agent: Agent) -> None:
        """An agent in no partition yet (nobody owns it to write it)."""
        await self._agents.insert_one({**agent_to_doc(agent), "epoch": 0, "outbox": []})

    async def claim(self, queue_ids: Collection[str], agent_ids: Collection[str], epoch: int) -> None:
        """Stamp the partition's live work and agents with the new owner's epoch: from now on a
        former owner's writes to them are refused."""
        if queue_ids:
            await self._work.update_many({"queue_id": {"$in": sorted(queue_ids)}, "state": {"$in": _LIVE},
                                          "epoch": {"$not": {"$gte": epoch}}}, {"$set": {"epoch": epoch}})
        if agent_ids:
            await self._agents.update_many({"_id": {"$in": sorted(agent_ids)}, "epoch": {"$not": {"$gte": epoch}}},
                                           {"$set": {"epoch": epoch}})

    async def strays(self, queue_ids: Collection[str], epoch: int) -> list[Work]:
        """Live work of these queues written under an older epoch after `claim` (a former owner
        that did not know yet it had lost the partition added it), in arrival order."""
        query = {"queue_id": {"$in": sorted(queue_ids)}, "state": {"$in": _LIVE}, "epoch": {"$lt": epoch}}
        return [work_from_doc(d) async for d in self._work.find(query).sort("seq", ASCENDING)]

    async def unpublished(self, queue_ids: Collection[str], agent_ids: Collection[str]) -> list[OutboxEntry]:
        """Events of the partition's documents written but not yet published (a former owner's
        last), in the order they were made."""
        has_events = {"outbox.0": {"$exists": True}}
        found = [d async for d in self._work.find({"queue_id": {"$in": sorted(queue_ids)}, **has_events},
                                                  {"outbox": 1})]
        found += [d async for d in self._agents.find({"_id": {"$in": sorted(agent_ids)}, **has_events},
                                                     {"outbox": 1})]
        entries = [_outbox_entry(e) for d in found for e in d.get("outbox", ())]
        return sorted(entries, key=lambda e: (e.epoch, e.n))

    async def published(self, entries: Iterable[OutboxEntry]) -> None:
        """Take published events off their documents."""
        by_subject: dict[str, list[int]] = {}
        for entry in entries:
            by_subject.setdefault(entry.subject, []).append(entry.n)
        ops: dict[str, list[UpdateOne]] = {"work": [], "agents": []}
        for subject, numbers in by_subject.items():
            kind, _, doc_id = subject.partition("/")
            ops[kind].append(UpdateOne({"_id": doc_id}, {"$pull": {"outbox": {"n": {"$in": numbers}}}}))
        if ops["work"]:
            await self._work.bulk_write(ops["work"], ordered=False)
        if ops["agents"]:
            await self._agents.bulk_write(ops["agents"], ordered=False)

    async def record_call(self, call_id: str, *, customer: str, segment: str, hour: int, reached: bool,
                          at: float) -> None:
        """Keep the outcome of one call (once: a call reported again is already there)."""
        with contextlib.suppress(DuplicateKeyError):
            await self._calls.insert_one({"_id": call_id, "customer": customer, "segment": segment, "hour": hour,
                                          "reached": reached, "at": at})

    async def customer_calls(self, customer: str, limit: int) -> list[tuple[int, bool]]:
        """(hour of week, reached) of the customer's last `limit` calls."""
        cursor = self._calls.find({"customer": customer}, {"hour": 1, "reached": 1}).sort("at", DESCENDING).limit(limit)
        return [(int(doc["hour"]), bool(doc["reached"])) async for doc in cursor]

    async def segment_calls(self, segment: str, since: float) -> list[tuple[int, bool, int]]:
        """(hour of week, reached, calls) of the segment's calls since `since`."""
        cursor = await self._calls.aggregate([
            {"$match": {"segment": segment, "at": {"$gte": since}}},
            {"$group": {"_id": {"hour": "$hour", "reached": "$reached"}, "calls": {"$sum": 1}}},
        ])
        return [(int(doc["_id"]["hour"]), bool(doc["_id"]["reached"]), int(doc["calls"])) async for doc in cursor]

    async def save_queue(self, queue: QueueConfig) -> None:
        await self._queues.replace_one({"_id": queue.id}, queue_to_doc(queue), upsert=True)

    async def layout_version(self) -> int:
        doc = await self._layout.find_one({"_id": "layout"})
        return int(doc["version"]) if doc else 0

    async def layout_changed(self) -> int:
        """Tell every replica to read the layout again (a queue or agent was added or regrouped);
        the layout's new version."""
        doc = await self._layout.find_one_and_update({"_id": "layout"}, {"$inc": {"version": 1}}, upsert=True,
                                                     return_document=ReturnDocument.AFTER)
        assert doc is not None, "an upsert returning the document after it always finds one"
        return int(doc["version"])

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

    async def answer_times(self, queue_id: str, since: float, limit: int) -> list[float]:
        """When the queue's work finished since `since` was answered (the newest `limit`)."""
        cursor = self._work.find({"end_time": {"$gte": since}, "queue_id": queue_id, "answer_time": {"$gt": 0}},
                                 {"answer_time": 1, "_id": 0}).sort("end_time", DESCENDING).limit(limit)
        return [float(d["answer_time"]) async for d in cursor]

    async def get_work(self, work_id: str) -> Work | None:
        doc = await self._work.find_one({"_id": work_id})
        return work_from_doc(doc) if doc else None

    async def follow_ups(self, scope: WorkScope, after: float, before: float, position: tuple[float, str] | None,
                         limit: int) -> list[Work]:
        """Follow-ups within `scope` due in [after, before) (0: unbounded), soonest first, after
        `position` (due, id)."""
        due: Document = {"$gt": 0.0}
        if after:
            due["$gte"] = after
        if before:
            due["$lt"] = before
        query: Document = {"follow_up_due": due, **scope_filter(scope)}
        if position is not None:
            query["$or"] = [{"follow_up_due": {"$gt": position[0]}},
                            {"follow_up_due": position[0], "_id": {"$gt": position[1]}}]
        cursor = self._work.find(query).sort([("follow_up_due", ASCENDING), ("_id", ASCENDING)]).limit(limit)
        return [work_from_doc(d) async for d in cursor]

    async def work_in(self, scope: WorkScope, states: Collection[WorkState], after_seq: int,
                      limit: int) -> list[Work]:
        """Work in one of `states` within `scope`, in arrival order after `after_seq`."""
        query: Document = {"state": {"$in": [s.value for s in states]}, "seq": {"$gt": after_seq},
                           **scope_filter(scope)}
        cursor = self._work.find(query).sort("seq", ASCENDING).limit(limit)
        return [work_from_doc(d) async for d in cursor]
