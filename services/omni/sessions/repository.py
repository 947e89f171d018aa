"""Sessions, calls and attachments in MongoDB (the sessions service's own database)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from bson.binary import Binary
from cachetools import LRUCache
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from omni.runtime import outbox
from omni.runtime.channels import Channel
from omni.runtime.errors import Conflict, NotFound
from omni.runtime.paging import Page, PageRequest
from omni.runtime.storage import Document, IndexDeclarations, find_page, plain, update_versioned
from omni.sessions.domain.access import Sight
from omni.sessions.domain.identities import match_keys
from omni.sessions.domain.model import (
    Attachment,
    Direction,
    EmailFacts,
    Identity,
    Message,
    Note,
    NoteKind,
    Session,
    SessionFilter,
    State,
    Transition,
)
from omni.sessions.domain.sms import Delivery as SmsDelivery
from omni.sessions.domain.sms import OutboundSms
from omni.sessions.domain.survey import Delivery, Survey

SESSIONS = "sessions"
CALLS = "calls"
ATTACHMENTS = "attachments"
# One document per customer key: when they were last asked for a survey, and for which contact.
SURVEY_ASKS = "survey_asks"
# Outbound SMS until the SMSC took them and their receipt came (usecases/sms.py).
SMS_OUTBOX = "sms_outbox"

INDEXES: IndexDeclarations = {
    SESSIONS: [
        IndexModel([("identity_keys", ASCENDING), ("create_time", DESCENDING)], name="identity_recent"),
        IndexModel([("email_message_ids", ASCENDING)], name="email_message_ids"),
        IndexModel([("create_time", DESCENDING), ("_id", DESCENDING)], name="recent"),
        IndexModel([("customer_id", ASCENDING), ("create_time", DESCENDING)], name="customer_recent"),
        IndexModel([("queue", ASCENDING), ("state", ASCENDING)], name="queue_state"),
        outbox.INDEX,
    ],
    ATTACHMENTS: [IndexModel([("session_id", ASCENDING)], name="session")],
    SMS_OUTBOX: [IndexModel([("state", ASCENDING), ("due", ASCENDING)], name="state_due"),
                 IndexModel([("smsc_id", ASCENDING)], name="smsc_id", sparse=True)],
}

# Attempts at a read-modify-write before giving the caller ABORTED.
_MUTATE_ATTEMPTS = 8
T = TypeVar("T")


def _message(doc: Document) -> Message:
    email = doc.get("email")
    return Message(
        id=doc["id"],
        direction=Direction(doc["direction"]),
        sender=doc.get("sender", ""),
        text=doc.get("text", ""),
        time=doc["time"],
        attachments=[Attachment(**a) for a in doc.get("attachments", [])],
        email=EmailFacts(**email) if email else None,
        html=doc.get("html", ""),
        request_id=doc.get("request_id", ""),
        emotion_score=doc.get("emotion_score", 0),
        delivery=doc.get("delivery", ""),
        abandoned_in_ivr=doc.get("abandoned_in_ivr", False),
        sender_name=doc.get("sender_name", ""),
    )


def _sms(doc: Document) -> OutboundSms:
    fields = {k: v for k, v in doc.items() if k != "_id"}
    return OutboundSms(id=doc["_id"], **fields)


def _note(doc: Document) -> Note:
    return Note(id=doc["id"], kind=NoteKind(doc["kind"]), author_id=doc.get("author_id", ""), text=doc["text"],
                create_time=doc["create_time"], request_id=doc.get("request_id", ""))


def session_from_doc(doc: Document) -> Session:
    return Session(
        id=doc["_id"],
        channel=Channel(doc["channel"]),
        identities=[Identity(**i) for i in doc.get("identities", [])],
        state=State(doc["state"]),
        create_time=doc["create_time"],
        update_time=doc["update_time"],
        transitions=[Transition(State(t["state"]), t["time"], t.get("reason", "")) for t in doc.get("transitions", [])],
        display_name=doc.get("display_name", ""),
        customer_id=doc.get("customer_id", ""),
        language=doc.get("language", ""),
        intent=doc.get("intent", ""),
        queue=doc.get("queue", ""),
        emotion_score=doc.get("emotion_score", 0),
        urgent=doc.get("urgent", False),
        messages=[_message(m) for m in doc.get("messages", [])],
        notes=[_note(n) for n in doc.get("notes", [])],
        agent_id=doc.get("agent_id", ""),
        agent_name=doc.get("agent_name", ""),
        ticket_id=doc.get("ticket_id", ""),
        previous_session_id=doc.get("previous_session_id", ""),
        attributes=dict(doc.get("attributes", {})),
        claimed_identities=[Identity(**i) for i in doc.get("claimed_identities", [])],
        self_service=doc.get("self_service", False),
        applied_events=list(doc.get("applied_events", [])),
        routing_epochs=dict(doc.get("routing_epochs", {})),
        earlier_messages=doc.get("earlier_messages", 0),
        mail_participants=list(doc.get("mail_participants", [])),
        survey=_survey(doc["survey"]) if doc.get("survey") else None,
        version=doc.get("version", 0),
    )


def _survey(doc: Document) -> Survey:
    return Survey(**{**doc, "delivery": Delivery(doc["delivery"])})


def _wanted(wanted: SessionFilter) -> Document:
    query: Document = {}
    if wanted.channel is not None:
        query["channel"] = wanted.channel.value
    if wanted.state is not None:
        query["state"] = wanted.state.value
    if wanted.customer_id:
        query["customer_id"] = wanted.customer_id
    if wanted.queue:
        query["queue"] = wanted.queue
    return query


def _in_sight(sight: Sight) -> Document:
    """`Sight.admits` as a query."""
    admitted: list[Document] = [{field: {"$in": sorted(values)}} for field, values in
                                (("_id", sight.session_ids), ("agent_id", sight.agent_ids), ("queue", sight.queues))
                                if values]
    if sight.self_service:
        admitted.append({"self_service": True})
    # Sight of nothing: a condition no session meets.
    return {"$or": admitted} if admitted else {"_id": {"$in": []}}


def changes_between(before: Document, after: Document) -> Document:
    """The update that turns the stored `before` into `after`, field by field: a list that only
    grew gets its new items pushed, any other changed field is set, an unchanged one is left alone."""
    update: Document = {}
    for field, value in after.items():
        old = before.get(field)
        if field in before and old == value:
            continue
        if isinstance(old, list) and isinstance(value, list) and len(value) > len(old) and value[:len(old)] == old:
            update.setdefault("$push", {})[field] = {"$each": value[len(old):]}
        else:
            update.setdefault("$set", {})[field] = value
    return update


@dataclasses.dataclass(frozen=True)
class Recorded(Generic[T]):
    """A session as a write left it, what the change returned, and the session's events still to
    publish (those of this write after any an earlier write left behind)."""

    session: Session
    result: T
    pending: list[Document]


def _cost(session: Session) -> int:
    """What a session costs the cache: its transcript and about 2 KiB for the rest."""
    return 2048 + session.transcript_bytes()


class SessionRepository:
    def __init__(self, db: AsyncDatabase[Document], default_region: str, *, cache_bytes: int = 0) -> None:
        """`cache_bytes`: how much of the open sessions this replica keeps as it last read or wrote
        them (0: none), so that a write needs no read first."""
        self._sessions = db[SESSIONS]
        self._calls = db[CALLS]
        self._attachments = db[ATTACHMENTS]
        self._sms = db[SMS_OUTBOX]
        # Region of phone numbers given without a country code, for identity match keys.
        self._region = default_region
        # Open sessions as this replica last read or wrote them. Only the versioned writes of
        # `record` and the decisions they re-check (`recent`) start from here: if another replica
        # wrote meanwhile, the write fails on the version, and the next attempt reads the store.
        self._known: LRUCache[str, Document] = LRUCache(maxsize=max(cache_bytes, 1), getsizeof=lambda doc: doc["_cost"])

    def _remember(self, session: Session, doc: Document | None = None) -> None:
        cost = _cost(session)
        if session.terminal or cost > self._known.maxsize:
            self._known.pop(session.id, None)
            return
        self._known[session.id] = {**(doc if doc is not None else self._doc(session)), "_cost": cost}

    async def recent(self, session_id: str) -> Session:
        """The session as this replica last read or wrote it, else as stored: maybe behind a write
        of another replica, so only for decisions that a change through `record` checks again."""
        known = self._known.get(session_id)
        return session_from_doc(known) if known is not None else await self.get(session_id)

    async def holding(self, session_id: str, message_id: str) -> Session:
        """The session as this replica last knew it when that copy holds `message_id` (a message
        does not change once in the transcript), else as stored."""
        session = await self.recent(session_id)
        if any(message.id == message_id for message in session.messages):
            return session
        return await self.get(session_id)

    def _doc(self, session: Session) -> Document:
        doc: Document = plain(dataclasses.asdict(session))
        doc["_id"] = doc.pop("id")
        # Derived fields, stored only to be queried.
        doc["identity_keys"] = match_keys(session.identities, self._region)
        doc["email_message_ids"] = session.email_message_ids()
        return doc

    async def insert(self, session: Session) -> None:
        doc = self._doc(session)
        await self._sessions.insert_one(doc)
        self._remember(session, doc)

    async def get(self, session_id: str) -> Session:
        doc = await self._sessions.find_one({"_id": session_id})
        if doc is None:
            raise NotFound(f"session {session_id} does not exist")
        session = session_from_doc(doc)
        self._remember(session)
        return session

    async def _save(self, session: Session, before: Document, events: Sequence[Document]) -> list[Document]:
        """Write back a session read at `session.version` as `before`, with the events of the change
        (the outbox, in the same single-document write); Conflict if someone wrote in between.
        Returns the session's pending events when this write added some, else none. Only what
        changed is written: a chat message is pushed onto the transcript, never the whole session
        written again."""
        after = self._doc(session)
        update = changes_between(before, after)
        if not update and not events:
            return []  # nothing changed: no write, no new version
        if events:
            update.setdefault("$push", {})[outbox.FIELD] = {"$each": list(events)}
        session.version = after["version"] = await update_versioned(
            self._sessions, {"_id": session.id}, session.version, update, what=f"session {session.id}")
        self._remember(session, after)
        if not events:
            # Nothing of ours to publish; what an earlier writer left is theirs or the relay's.
            # (A ticket link or a routing note on every chat: one read each saved.)
            return []
        # Read after the write, so it may hold a later writer's events too, and lack ours only
        # when someone published them already (an outbox entry goes once it was published).
        return await self.pending(session.id)

    async def exists(self, session_id: str) -> bool:
        return await self._sessions.find_one({"_id": session_id}, {"_id": 1}) is not None

    async def mutate(self, session_id: str, change: Callable[[Session], T]) -> tuple[Session, T]:
        """Read, apply `change` (pure), write; re-run on a concurrent write. For changes that tell
        nobody (see `record`)."""
        recorded = await self.record(session_id, lambda session: (change(session), []))
        return recorded.session, recorded.result

    async def record(self, session_id: str,
                     change: Callable[[Session], tuple[T, Sequence[Document]]]) -> Recorded[T]:
        """Read (this replica's last copy first), apply `change` (pure; it returns its result and
        the events it makes), write the session and those events at once; re-run on a concurrent
        write, read from the store."""
        for _ in range(_MUTATE_ATTEMPTS):
            session = await self.recent(session_id)
            before = self._doc(session)
            try:
                result, events = change(session)
                pending = await self._save(session, before, events)
            except Conflict:
                self._known.pop(session_id, None)
                continue
            except BaseException:
                self._known.pop(session_id, None)  # the change may have touched the cached copy
                raise
            return Recorded(session, result, pending)
        raise Conflict(f"session {session_id} is changing too fast; try again")

    async def waiting_chats(self, queue: str) -> int:
        """Chats waiting for a person in `queue` (not those the self-service bots hold)."""
        return await self._sessions.count_documents({
            "queue": queue, "channel": Channel.CHAT.value, "self_service": {"$ne": True},
            "state": {"$in": [State.QUEUED.value, State.OFFERED.value]}})

    async def waiting_callbacks(self, customer_id: str, limit: int = 20) -> list[str]:
        """The sessions of `customer_id` waiting in a queue for a booked callback."""
        cursor = self._sessions.find({
            "customer_id": customer_id, "state": {"$in": [State.QUEUED.value, State.OFFERED.value]},
            "attributes.callback_number": {"$gt": ""}}, {"_id": 1}).limit(limit)
        return [doc["_id"] async for doc in cursor]

    async def pending(self, session_id: str) -> list[Document]:
        """The session's events not published yet."""
        doc = await self._sessions.find_one({"_id": session_id}, {outbox.FIELD: 1})
        return list(doc.get(outbox.FIELD, [])) if doc else []

    async def find_by_email_ids(self, message_ids: Sequence[str]) -> Session | None:
        ids = [m for m in message_ids if m]
        if not ids:
            return None
        doc = await self._sessions.find_one({"email_message_ids": {"$in": ids}}, sort=[("create_time", DESCENDING)])
        return session_from_doc(doc) if doc else None

    async def open_session_for(self, channel: Channel, identity: Identity) -> Session | None:
        """The newest session on `channel` of the customer with `identity` that is not over."""
        keys = match_keys([identity], self._region)
        doc = await self._sessions.find_one(
            {"identity_keys": {"$in": keys}, "channel": channel.value,
             "state": {"$nin": [State.ENDED.value, State.ABANDONED.value]}},
            sort=[("create_time", DESCENDING)]) if keys else None
        return session_from_doc(doc) if doc else None

    async def queue_sms(self, sms: OutboundSms) -> None:
        """Store an SMS to send; the same id again (a retried call) stores nothing new."""
        doc = plain(dataclasses.asdict(sms))
        doc["_id"] = doc.pop("id")
        await self._sms.update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)

    async def claim_due_sms(self, now: dt.datetime, hold_until: dt.datetime, limit: int) -> list[OutboundSms]:
        """Pending SMS due by `now`, each claimed until `hold_until` (when an unanswered send is
        tried again) and counted as one more attempt."""
        claimed: list[OutboundSms] = []
        async for doc in self._sms.find({"state": SmsDelivery.PENDING.value, "due": {"$lte": now}}).limit(limit):
            taken = await self._sms.find_one_and_update(
                {"_id": doc["_id"], "state": SmsDelivery.PENDING.value, "due": doc["due"]},
                {"$set": {"due": hold_until}, "$inc": {"attempts": 1}}, return_document=ReturnDocument.AFTER)
            if taken is not None:
                claimed.append(_sms(taken))
        return claimed

    async def cancel_reminders(self, session_id: str, error: str) -> list[str]:
        """Fail the session's callback reminders not sent yet; their ids."""
        found = {"session_id": session_id, "callback_reminder": True, "state": SmsDelivery.PENDING.value}
        ids = [doc["_id"] async for doc in self._sms.find(found, {"_id": 1})]
        if ids:
            await self._sms.update_many({**found, "_id": {"$in": ids}},
                                        {"$set": {"state": SmsDelivery.FAILED.value, "error": error}})
        return ids

    async def update_sms(self, sms_id: str, fields: Document) -> OutboundSms | None:
        doc = await self._sms.find_one_and_update({"_id": sms_id}, {"$set": fields},
                                                  return_document=ReturnDocument.AFTER)
        return _sms(doc) if doc else None

    async def sms_by_smsc_id(self, smsc_id: str) -> OutboundSms | None:
        doc = await self._sms.find_one({"smsc_id": smsc_id})
        return _sms(doc) if doc else None

    async def latest_for(self, identities: Sequence[Identity], since: dt.datetime, exclude: str) -> Session | None:
        """The customer's most recent session (by any identity) that started after `since`."""
        keys = match_keys(list(identities), self._region)
        if not keys:
            return None
        doc = await self._sessions.find_one(
            {"identity_keys": {"$in": keys}, "create_time": {"$gte": since}, "_id": {"$ne": exclude}},
            sort=[("create_time", DESCENDING)],
        )
        return session_from_doc(doc) if doc else None

    async def list(self, wanted: SessionFilter, sight: Sight | None, page: PageRequest,
                   max_bytes: int) -> Page[Session]:
        """`wanted` among the sessions in `sight` (None: all), newest first; a page ends early (the
        next one starts after its last session) rather than carry more than `max_bytes` of transcript."""
        query = _wanted(wanted) if sight is None else {"$and": [_wanted(wanted), _in_sight(sight)]}
        order = [("create_time", DESCENDING), ("_id", DESCENDING)]
        found = await find_page(self._sessions, query, order, page)
        sessions: list[Session] = []
        size = 0
        for doc in found.items:
            session = session_from_doc(doc)
            size += session.transcript_bytes()
            if sessions and size > max_bytes:
                return Page(sessions, (sessions[-1].create_time, sessions[-1].id))
            sessions.append(session)
        return Page(sessions, found.next_after)

    async def claim_call(self, call_id: str, session_id: str) -> str | None:
        """Bind a PBX call id to a session; returns the session that already had it, if any."""
        try:
            await self._calls.insert_one({"_id": call_id, "session_id": session_id})
        except DuplicateKeyError:
            existing = await self._calls.find_one({"_id": call_id})
            return str(existing["session_id"]) if existing else None
        return None

    async def session_for_call(self, call_id: str) -> Session:
        doc = await self._calls.find_one({"_id": call_id})
        if doc is None:
            raise NotFound(f"call {call_id} is unknown; send StartCall for it first")
        return await self.get(str(doc["session_id"]))

    async def store_attachment(self, session_id: str, attachment: Attachment, content: bytes | None) -> None:
        await self._attachments.replace_one(
            {"_id": attachment.id},
            {**plain(dataclasses.asdict(attachment)), "_id": attachment.id, "session_id": session_id,
             "content": Binary(content) if content is not None else None},
            upsert=True,
        )

    async def attachment_content(self, attachment_id: str) -> bytes | None:
        doc = await self._attachments.find_one({"_id": attachment_id})
        if doc is None:
            raise NotFound(f"attachment {attachment_id} was not stored")
        content = doc.get("content")
        return bytes(content) if content is not None else None


class SurveyAsks:
    """Once a week per customer, across replicas: asking claims the customer's key atomically."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._asks = db[SURVEY_ASKS]

    async def claim(self, customer_key: str, session_id: str, at: dt.datetime, interval: dt.timedelta) -> bool:
        """Whether this contact may ask: nobody asked this customer within `interval`, or this
        contact already holds the claim (a redelivered event)."""
        free = {"_id": customer_key, "$or": [{"asked_at": {"$lt": at - interval}}, {"session_id": session_id}]}
        try:
            await self._asks.find_one_and_update(free, {"$set": {"asked_at": at, "session_id": session_id}},
                                                 upsert=True)
        except DuplicateKeyError:
            return False  # the key exists and another contact asked within the interval
        return True
