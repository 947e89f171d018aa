"""MongoDB storage of supervision: alerts (each with the outbox of its events), the contacts
followed for the greeting rule, tickets' SLA targets followed for the imminent-breach rule, each
queue's last health, and each agent's day."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from omni.runtime import outbox
from omni.runtime.channels import Channel
from omni.runtime.errors import NotFound
from omni.runtime.paging import Page, PageRequest
from omni.runtime.storage import Document, ProcessedEvents, find_page, insert_once
from omni.supervision.domain.access import Sight
from omni.supervision.domain.alerts import Alert, AlertFilter, AlertKind
from omni.supervision.domain.contacts import Contact
from omni.supervision.domain.floor import AgentDay
from omni.supervision.domain.follow_ups import FollowUpTarget
from omni.supervision.domain.queue_health import QueueHealth
from omni.supervision.domain.sla import SlaTarget
from omni.supervision.domain.usual_band import HourFigures

ALERTS = "alerts"
CONTACTS = "contacts"
# The latest reply times of each session (an assignment's event may come after its reply's).
REPLIES = "replies"
SLA_TARGETS = "sla_targets"
FOLLOW_UPS = "follow_ups"
QUEUE_HEALTH = "queue_health"
AGENT_DAYS = "agent_days"
# Each queue's figures per clock hour: the usual band's history.
QUEUE_HOURS = "queue_hours"

ALERT_ORDER = (("create_time", DESCENDING), ("_id", DESCENDING))
INDEXES = {
    ALERTS: [IndexModel([("origin_key", ASCENDING)], unique=True, name="origin"),
             IndexModel(list(ALERT_ORDER), name="newest"),
             IndexModel([("open", ASCENDING), *ALERT_ORDER], name="open_newest"),
             outbox.INDEX],
    # Contacts not yet judged, by when they connected (the greeting sweep).
    CONTACTS: [IndexModel([("judged", ASCENDING), ("connected_at", ASCENDING)], name="to_judge"),
               IndexModel([("session_id", ASCENDING)], name="session")],
    SLA_TARGETS: [IndexModel([("warned", ASCENDING), ("settled", ASCENDING), ("warn_at", ASCENDING)],
                             name="to_warn")],
    FOLLOW_UPS: [IndexModel([("alerted", ASCENDING), ("settled", ASCENDING), ("deadline", ASCENDING)],
                            name="to_alert")],
    AGENT_DAYS: [IndexModel([("day", ASCENDING), ("agent_id", ASCENDING)], unique=True, name="agent_day")],
    QUEUE_HOURS: [IndexModel([("queue_id", ASCENDING), ("hour_start", ASCENDING)], name="queue_hours")],
}


def _alert_doc(alert: Alert) -> Document:
    return {"_id": alert.id, "kind": alert.kind.value, "create_time": alert.created, "detail": alert.detail,
            "queue_id": alert.queue_id, "session_id": alert.session_id, "work_id": alert.work_id,
            "agent_id": alert.agent_id, "ticket_id": alert.ticket_id,
            "channel": alert.channel.value if alert.channel else "", "open": True,
            "acknowledged_by": "", "acknowledge_time": None}


def _alert(doc: Document) -> Alert:
    return Alert(id=doc["_id"], kind=AlertKind(doc["kind"]), origin=doc["origin_key"], created=doc["create_time"],
                 detail=doc.get("detail", ""), queue_id=doc.get("queue_id", ""), session_id=doc.get("session_id", ""),
                 work_id=doc.get("work_id", ""), agent_id=doc.get("agent_id", ""), ticket_id=doc.get("ticket_id", ""),
                 channel=Channel(doc["channel"]) if doc.get("channel") else None,
                 acknowledged_by=doc.get("acknowledged_by", ""), acknowledged_at=doc.get("acknowledge_time"))


def sight_query(seen: Sight) -> Document:
    """The query form of `access.Sight` for alerts."""
    if seen.queues is None:
        return {}
    return {"queue_id": {"$in": sorted(seen.queues | {""})}}


class SupervisionRepository:
    def __init__(self, client: AsyncMongoClient[Document], db: AsyncDatabase[Document],
                 day_events: ProcessedEvents) -> None:
        self._client = client
        self._alerts = db[ALERTS]
        self._contacts = db[CONTACTS]
        self._replies = db[REPLIES]
        self._sla = db[SLA_TARGETS]
        self._follow_ups = db[FOLLOW_UPS]
        self._health = db[QUEUE_HEALTH]
        self._days = db[AGENT_DAYS]
        self._hours = db[QUEUE_HOURS]
        # The work_completed events already counted in agents' days.
        self._day_events = day_events

    # Alerts

    async def insert_alert(self, alert: Alert, events: Sequence[Document]) -> tuple[Alert, list[Document]]:
        """Store `alert` with its events unless an alert of the same origin exists; returns the
        stored alert and the events still to publish ([] when it existed)."""
        doc, created = await insert_once(self._alerts, {**_alert_doc(alert), outbox.FIELD: list(events)},
                                         alert.origin)
        return _alert(doc), list(events) if created else []

    async def get_alert(self, alert_id: str) -> Alert:
        doc = await self._alerts.find_one({"_id": alert_id})
        if doc is None:
            raise NotFound(f"alert {alert_id} does not exist; list alerts with ListAlerts")
        return _alert(doc)

    async def acknowledge(self, alert: Alert, events: Sequence[Document]) -> tuple[Alert, list[Document]]:
        """Record `alert`'s acknowledgement with its events if it is still open; the stored alert and
        the events to publish ([] when someone acknowledged it first)."""
        result = await self._alerts.update_one(
            {"_id": alert.id, "open": True},
            {"$set": {"open": False, "acknowledged_by": alert.acknowledged_by,
                      "acknowledge_time": alert.acknowledged_at},
             "$push": {outbox.FIELD: {"$each": list(events)}}})
        return await self.get_alert(alert.id), list(events) if result.modified_count else []

    async def list_alerts(self, seen: Sight, wanted: AlertFilter, page: PageRequest) -> Page[Alert]:
        query: Document = sight_query(seen)
        if wanted.open_only:
            query["open"] = True
        if wanted.queue_id:
            query = {"$and": [query, {"queue_id": wanted.queue_id}]}
        found = await find_page(self._alerts, query, ALERT_ORDER, page)
        return Page([_alert(doc) for doc in found.items], found.next_after)

    async def open_alerts(self, seen: Sight, limit: int) -> list[Alert]:
        docs = await self._alerts.find({**sight_query(seen), "open": True}).sort(list(ALERT_ORDER)).limit(
            limit).to_list()
        return [_alert(doc) for doc in docs]

    # Contacts (the greeting rule)

    async def contact_connected(self, contact: Contact) -> None:
        """Follow `contact` from its connection; a later connection of the same work (after a
        transfer) starts afresh."""
        with contextlib.suppress(DuplicateKeyError):  # this connection is followed already (a redelivery)
            await self._contacts.update_one(
                {"_id": contact.work_id, "connected_at": {"$ne": contact.connected_at}},
                {"$set": {"session_id": contact.session_id, "queue_id": contact.queue_id,
                          "agent_id": contact.agent_id, "channel": contact.channel.value if contact.channel else "",
                          "connected_at": contact.connected_at, "greeted_at": contact.greeted_at,
                          "judged": False}},
                upsert=True)

    async def contact_greeted(self, session_id: str, at: dt.datetime) -> Contact | None:
        """The agent wrote at `at`: the contact, if one was waiting for its greeting. The time is
        also kept for a while, for an assignment whose event comes after the reply's."""
        await self._replies.update_one({"_id": session_id}, {"$push": {"times": {"$each": [at], "$slice": -20}}},
                                       upsert=True)
        # A read, then a write of that contact only if it still waits: findAndModify would be one
        # round trip, but SecantusDB answers it by scanning the collection, and this runs for
        # every reply an agent writes.
        waiting = {"judged": False, "greeted_at": None, "connected_at": {"$lte": at}}
        doc = await self._contacts.find_one({"session_id": session_id, **waiting})
        if doc is None:
            return None
        greeted = await self._contacts.update_one({"_id": doc["_id"], **waiting}, {"$set": {"greeted_at": at}})
        return _contact(doc | {"greeted_at": at}) if greeted.modified_count else None

    async def reply_since(self, session_id: str, since: dt.datetime) -> dt.datetime | None:
        """The first reply in `session_id` known at or after `since`."""
        doc = await self._replies.find_one({"_id": session_id})
        return min((t for t in (doc or {}).get("times", []) if t >= since), default=None)

    async def contacts_ungreeted_since(self, before: dt.datetime, limit: int = 200) -> list[Contact]:
        docs = await self._contacts.find({"judged": False, "greeted_at": None, "connected_at": {"$lte": before}}
                                         ).sort("connected_at", ASCENDING).limit(limit).to_list()
        return [_contact(doc) for doc in docs]

    async def contact_judged(self, work_id: str) -> None:
        await self._contacts.update_one({"_id": work_id}, {"$set": {"judged": True}})

    async def contact_over(self, work_id: str) -> None:
        """The work ended or moved on before its greeting was judged: nothing more to follow."""
        await self._contacts.delete_one({"_id": work_id, "judged": False})

    # SLA targets (the imminent-breach rule)

    async def sla_targets(self, targets: Sequence[tuple[SlaTarget, dt.datetime]]) -> None:
        """Follow each target, with when to warn of it (one write for all: a ticket event carries
        its targets, and every chat message makes such an event)."""
        if not targets:
            return
        await self._sla.bulk_write([UpdateOne(
            {"_id": f"{target.ticket_id}:{target.target}"},
            # Settled stays settled: an older event delivered late does not open the target again.
            {"$set": {"ticket_id": target.ticket_id, "queue_id": target.queue_id, "target": target.target,
                      "due": target.due, "started": target.started, "warn_at": warn_at,
                      **({"settled": True} if target.settled else {})},
             "$setOnInsert": {"warned": False, **({} if target.settled else {"settled": False})}}, upsert=True)
            for target, warn_at in targets], ordered=False)

    async def sla_to_warn(self, now: dt.datetime, limit: int = 200) -> list[SlaTarget]:
        """Targets not settled nor warned of whose warning time has come."""
        docs = await self._sla.find({"warned": False, "settled": False, "warn_at": {"$lte": now}}).sort(
            "warn_at", ASCENDING).limit(limit).to_list()
        return [SlaTarget(d["ticket_id"], d.get("queue_id", ""), d["target"], d["due"], d["started"]) for d in docs]

    async def sla_warned(self, target: SlaTarget) -> None:
        await self._sla.update_one({"_id": f"{target.ticket_id}:{target.target}"}, {"$set": {"warned": True}})

    # Follow-ups (the overdue rule)

    async def follow_up(self, target: FollowUpTarget) -> None:
        """Follow a follow-up until it is settled; settled stays settled (a late event of its
        scheduling does not open it again)."""
        fields: Document = {"queue_id": target.queue_id, "session_id": target.session_id, "agent_id": target.agent_id,
                            "group": target.group, "channel": target.channel.value if target.channel else ""}
        if target.settled:
            update: Document = {"$set": {"settled": True}, "$setOnInsert": {"alerted": False, **fields}}
        else:
            update = {"$set": {**fields, "deadline": target.deadline},
                      "$setOnInsert": {"alerted": False, "settled": False}}
        await self._follow_ups.update_one({"_id": target.work_id}, update, upsert=True)

    async def follow_ups_overdue(self, now: dt.datetime, limit: int = 200) -> list[FollowUpTarget]:
        docs = await self._follow_ups.find({"alerted": False, "settled": False, "deadline": {"$lte": now}}).sort(
            "deadline", ASCENDING).limit(limit).to_list()
        return [FollowUpTarget(d["_id"], d["queue_id"], d["session_id"], d["deadline"], d["agent_id"], d["group"],
                               Channel(d["channel"]) if d["channel"] else None) for d in docs]

    async def follow_up_alerted(self, work_id: str) -> None:
        await self._follow_ups.update_one({"_id": work_id}, {"$set": {"alerted": True}})

    # Queue health

    async def queue_health(self, queue_id: str) -> QueueHealth:
        doc = await self._health.find_one({"_id": queue_id})
        if doc is None:
            return QueueHealth(queue_id)
        return QueueHealth(queue_id, doc["service_level_low"], doc["abandonment_spike"],
                           doc["service_level_episodes"], doc["spike_episodes"])

    async def save_queue_health(self, health: QueueHealth) -> None:
        await self._health.replace_one({"_id": health.queue_id}, {
            "service_level_low": health.service_level_low, "abandonment_spike": health.abandonment_spike,
            "service_level_episodes": health.service_level_episodes, "spike_episodes": health.spike_episodes},
            upsert=True)

    # Queues' hours (the usual band)

    async def record_hour(self, hour: HourFigures) -> bool:
        """Keep one queue's figures of one hour; False when they were kept before (another check,
        another replica), so only one judges the hour."""
        try:
            await self._hours.insert_one({"_id": f"{hour.queue_id}:{hour.hour_start.isoformat()}",
                                          "queue_id": hour.queue_id, "hour_start": hour.hour_start,
                                          "figures": dict(hour.figures)})
        except DuplicateKeyError:
            return False
        return True

    async def hours_since(self, queue_id: str, since: dt.datetime, before: dt.datetime) -> list[HourFigures]:
        docs = await self._hours.find({"queue_id": queue_id, "hour_start": {"$gte": since, "$lt": before}}).to_list()
        return [HourFigures(d["queue_id"], d["hour_start"], d["figures"]) for d in docs]

    # Agents' days

    async def count_handled(self, event_id: str, agent_id: str, day: dt.date, handle_seconds: float) -> None:
        """Count one finished piece of work in the agent's day, once per event."""
        async def effect(session: AsyncClientSession) -> None:
            await self._days.update_one(
                {"day": day.isoformat(), "agent_id": agent_id},
                {"$inc": {"handled": 1, "handle_seconds": handle_seconds}}, upsert=True, session=session)

        await self._day_events.run_once(event_id, effect)

    async def agent_days(self, day: dt.date) -> dict[str, AgentDay]:
        docs = await self._days.find({"day": day.isoformat()}).to_list()
        return {d["agent_id"]: AgentDay(d["agent_id"], d.get("handled", 0), d.get("handle_seconds", 0.0))
                for d in docs}


def _contact(doc: Document) -> Contact:
    return Contact(session_id=doc["session_id"], work_id=doc["_id"], queue_id=doc.get("queue_id", ""),
                   agent_id=doc.get("agent_id", ""), channel=Channel(doc["channel"]) if doc.get("channel") else None,
                   connected_at=doc["connected_at"], greeted_at=doc.get("greeted_at"))
