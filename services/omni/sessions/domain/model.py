"""The live session: one conversation (a call, a chat, an email exchange) and its state machine.

Pure domain code: no gRPC, MongoDB or NATS. The KPIs (wait, handle time, abandonment) are
computed from `transitions`, so every state change is recorded with its time and reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid

from omni.runtime.channels import Channel
from omni.runtime.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from omni.sessions.domain.classifier import Classification
from omni.sessions.domain.survey import Survey


class State(enum.StrEnum):
    # Before routing: the IVR menu on a call, the greeting before a chat's first message.
    IVR = "ivr"
    QUEUED = "queued"
    OFFERED = "offered"
    CONNECTED = "connected"
    WRAP_UP = "wrap_up"
    ENDED = "ended"
    ABANDONED = "abandoned"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


TERMINAL = frozenset({State.ENDED, State.ABANDONED})

# Which states may follow which. Transfers go back to QUEUED (or straight to OFFERED for a
# named agent); a customer who leaves before an agent answered is ABANDONED.
_NEXT: dict[State, frozenset[State]] = {
    State.IVR: frozenset({State.QUEUED, State.ENDED, State.ABANDONED}),
    State.QUEUED: frozenset({State.OFFERED, State.CONNECTED, State.ENDED, State.ABANDONED}),
    State.OFFERED: frozenset({State.QUEUED, State.CONNECTED, State.ENDED, State.ABANDONED}),
    State.CONNECTED: frozenset({State.QUEUED, State.OFFERED, State.WRAP_UP, State.ENDED}),
    State.WRAP_UP: frozenset({State.ENDED}),
    State.ENDED: frozenset(),
    State.ABANDONED: frozenset(),
}


# Participants one email conversation keeps (tickets keeps as many per ticket).
MAX_MAIL_PARTICIPANTS = 20

@dataclasses.dataclass
class Identity:
    # "phone", "email", "chat_handle" or "external", as presented on the channel.
    kind: str
    value: str


@dataclasses.dataclass
class Attachment:
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    truncated: bool = False


@dataclasses.dataclass
class EmailFacts:
    """Headers of one email; what tickets threads on."""

    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = dataclasses.field(default_factory=list)
    subject: str = ""
    sender: str = ""
    to: list[str] = dataclasses.field(default_factory=list)
    cc: list[str] = dataclasses.field(default_factory=list)
    # An auto-reply (docs/sessions.md, "Automated mail"); a bounce or other mail-system mail.
    auto_submitted: bool = False
    delivery_status_report: bool = False
    defects: list[str] = dataclasses.field(default_factory=list)
    sender_name: str = ""
    # A bounce: the Message-ID of our mail it returns, its status code, recipient and diagnostic.
    report_message_id: str = ""
    report_status: str = ""
    report_recipient: str = ""
    report_diagnostic: str = ""
    # Message-IDs of attached messages (a forward as attachment): threading candidates.
    attached_message_ids: list[str] = dataclasses.field(default_factory=list)
    # SenderTrust value: "verified", "unverified", or "" (no trusted Authentication-Results).
    sender_trust: str = ""

    @property
    def automatic(self) -> bool:
        """Mail no person wrote: never queued, never answered, never a new customer."""
        return self.auto_submitted or self.delivery_status_report

    def thread_ids(self) -> list[str]:
        """The Message-IDs this mail answers or returns, nearest first."""
        ids = [self.in_reply_to, self.report_message_id, *reversed(self.references), *self.attached_message_ids]
        return list(dict.fromkeys(i for i in ids if i))


@dataclasses.dataclass
class Message:
    id: str
    direction: Direction
    # Customer handle/number/address, or the agent id.
    sender: str
    text: str
    time: dt.datetime
    attachments: list[Attachment] = dataclasses.field(default_factory=list)
    email: EmailFacts | None = None
    html: str = ""
    # The caller's idempotency key (SendReply.request_id, ChatText.client_message_id).
    request_id: str = ""
    # A customer turn's own emotion score (0..10), which its interaction carries to routing.
    emotion_score: int = 0
    # An outbound SMS's delivery (domain/sms.py `Delivery`): pending, submitted, delivered, failed.
    delivery: str = ""
    # The record of a call that ended in the IVR before reaching a queue.
    abandoned_in_ivr: bool = False
    # An agent's message: the agent's display name, as the customer's chat shows it.
    sender_name: str = ""

    def stored_bytes(self) -> int:
        """Roughly what the message takes in the session's record: its text, HTML and headers."""
        email = self.email
        headers = [email.subject, *email.references, *email.to, *email.cc, *email.defects] if email else []
        return sum(len(part.encode()) for part in (self.text, self.html, *headers)) + 200 * len(self.attachments)


class NoteKind(enum.StrEnum):
    STAFF = "staff"
    BOT_HANDOFF = "bot_handoff"
    SUMMARY = "summary"
    # A supervisor's word to the agent handling the session.
    WHISPER = "whisper"
    # A supervisor asked the PBX for a leg on the call (domain/call_legs.py).
    CALL_LEG = "call_leg"


@dataclasses.dataclass
class Note:
    """Part of the session's record for staff; kept apart from `messages` so that nothing built
    for the customer (chat frames, the transcript on resume, email, interactions) can carry it."""

    id: str
    kind: NoteKind
    # The staff member or service that wrote it; for a bot handoff, the bot worker.
    author_id: str
    text: str
    create_time: dt.datetime
    # AddSessionNote.request_id, or the id of the event that recorded it: a retry adds nothing.
    request_id: str = ""


@dataclasses.dataclass
class Transition:
    state: State
    time: dt.datetime
    reason: str = ""


@dataclasses.dataclass
class Session:
    id: str
    channel: Channel
    identities: list[Identity]
    state: State
    create_time: dt.datetime
    update_time: dt.datetime
    transitions: list[Transition] = dataclasses.field(default_factory=list)
    display_name: str = ""
    customer_id: str = ""
    language: str = ""
    intent: str = ""
    queue: str = ""
    emotion_score: int = 0
    urgent: bool = False
    messages: list[Message] = dataclasses.field(default_factory=list)
    notes: list[Note] = dataclasses.field(default_factory=list)
    agent_id: str = ""
    # The display name of `agent_id` (from routing's record of the agent), for the customer's chat.
    agent_name: str = ""
    ticket_id: str = ""
    previous_session_id: str = ""
    attributes: dict[str, str] = dataclasses.field(default_factory=dict)
    # Chat identities the visitor typed without proof: shown to staff, never used to find or
    # link the customer (unlike `identities`).
    claimed_identities: list[Identity] = dataclasses.field(default_factory=list)
    # With routing's self-service bots (from work_overflowed until a bot hands it back): a customer
    # who leaves then was served by self-service, not lost from a queue.
    self_service: bool = False
    # Events (routing, tickets) already applied, so a redelivery changes nothing twice.
    applied_events: list[str] = dataclasses.field(default_factory=list)
    # Routing's partition -> the highest lease epoch of its events applied here (runtime/fencing.py).
    routing_epochs: dict[str, int] = dataclasses.field(default_factory=dict)
    # Messages of the conversation no longer kept here (over `TranscriptLimits`); the ticket has them.
    earlier_messages: int = 0
    # Email: addresses (case-folded) that wrote into the conversation without being its customer,
    # kept apart from the transcript (which may drop old messages); an agent may copy them.
    mail_participants: list[str] = dataclasses.field(default_factory=list)
    # The satisfaction survey asked after the contact ended (at most one per contact).
    survey: Survey | None = None
    version: int = 0

    @classmethod
    def open(
        cls,
        channel: Channel,
        identities: list[Identity],
        at: dt.datetime,
        *,
        state: State = State.IVR,
        display_name: str = "",
        language: str = "",
        previous: Session | None = None,
    ) -> Session:
        session = cls(
            id=new_id("S"),
            channel=channel,
            identities=identities,
            state=state,
            create_time=at,
            update_time=at,
            transitions=[Transition(state, at, "session opened")],
            display_name=display_name,
            language=language,
        )
        if previous is not None:
            session.link(previous)
        return session

    def link(self, previous: Session) -> None:
        """Keep the context of the customer's previous session (chat → phone, say)."""
        self.previous_session_id = previous.id
        self.ticket_id = self.ticket_id or previous.ticket_id
        self.customer_id = self.customer_id or previous.customer_id
        self.language = self.language or previous.language

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def check_open(self) -> None:
        if self.terminal:
            raise FailedPrecondition(f"session {self.id} is {self.state.value}; start a new conversation")

    def customer_label(self) -> str:
        """Who a customer message is from when the channel gave no sender."""
        return self.display_name or (self.identities[0].value if self.identities else "customer")

    def move(self, state: State, at: dt.datetime, reason: str = "") -> bool:
        """Change state, recording when and why. False when the session is already there."""
        if state == self.state:
            return False
        if state not in _NEXT[self.state]:
            raise FailedPrecondition(
                f"session {self.id} is {self.state.value}; it cannot become {state.value}"
                + (" (the conversation is over)" if self.terminal else "")
            )
        self.state = state
        self.transitions.append(Transition(state, at, reason))
        self.update_time = at
        return True

    def note(self, classification: Classification) -> None:
        """Fold what a message revealed into the session: the first intent and language stick,
        the emotion score is the highest seen, urgency once raised stays."""
        self.intent = self.intent or classification.intent
        self.language = self.language or classification.language
        self.emotion_score = max(self.emotion_score, classification.emotion_score)
        self.urgent = self.urgent or classification.urgent

    def add_message(self, message: Message, keep: TranscriptLimits) -> None:
        """Add a message; the oldest ones go when the transcript would be over `keep` (never the newest)."""
        self.messages.append(message)
        self.update_time = message.time
        self._note_participant(message)
        size = self.transcript_bytes()
        while len(self.messages) > 1 and (len(self.messages) > keep.max_messages or size > keep.max_bytes):
            size -= self.messages.pop(0).stored_bytes()
            self.earlier_messages += 1

    def _note_participant(self, message: Message) -> None:
        """A person's mail from someone other than the customer makes them a participant (the
        first MAX_MAIL_PARTICIPANTS of them); automated mail is nobody."""
        if message.direction is not Direction.INBOUND or message.email is None or message.email.automatic:
            return
        sender = message.email.sender.strip().casefold()
        if (sender and sender != self.first_identity("email").casefold() and sender not in self.mail_participants
                and len(self.mail_participants) < MAX_MAIL_PARTICIPANTS):
            self.mail_participants.append(sender)

    def transcript_bytes(self) -> int:
        return sum(m.stored_bytes() for m in self.messages)

    @property
    def answered(self) -> bool:
        """Whether an agent or a bot has replied (among the messages kept)."""
        return any(m.direction is Direction.OUTBOUND for m in self.messages)

    def without_transcript(self) -> Session:
        """The session without its messages and notes: what events and live updates carry along
        with the one change they are about, so they stay small however long the conversation is."""
        return dataclasses.replace(self, messages=[], notes=[])

    def add_note(self, note: Note, max_notes: int) -> Note:
        """Record an internal note; on a retry (same request_id) the note recorded the first time."""
        earlier = next((n for n in self.notes if note.request_id and n.request_id == note.request_id), None)
        if earlier is not None:
            return earlier
        if len(self.notes) >= max_notes:
            raise ResourceExhausted(f"session {self.id} has {len(self.notes)} notes, the most one session keeps; "
                                    "write on its ticket instead")
        self.notes.append(note)
        self.update_time = note.create_time
        return note

    def message_for_request(self, request_id: str) -> Message | None:
        if not request_id:
            return None
        return next((m for m in self.messages if m.request_id == request_id), None)

    def last_inbound_email(self) -> Message | None:
        return next((m for m in reversed(self.messages) if m.direction is Direction.INBOUND and m.email), None)

    def email_message_ids(self) -> list[str]:
        return [m.email.message_id for m in self.messages if m.email and m.email.message_id]

    def first_identity(self, kind: str) -> str:
        return next((i.value for i in self.identities if i.kind == kind), "")

    def hand_to(self, agent_id: str, name: str = "") -> bool:
        """The session's agent is `agent_id` now ("" for nobody), called `name` when that is known
        (a name stays with its agent); whether anything changed."""
        before = (self.agent_id, self.agent_name)
        if agent_id != self.agent_id:
            self.agent_id, self.agent_name = agent_id, ""
        if agent_id and name:
            self.agent_name = name
            # The agent may have answered before this session heard routing assign them (the desk
            # hears first): those replies went out unnamed and are named now.
            for message in self.messages:
                if message.direction is Direction.OUTBOUND and message.sender == agent_id and not message.sender_name:
                    message.sender_name = name
        return (self.agent_id, self.agent_name) != before

    def mark_applied(self, event_id: str) -> bool:
        """Remember an event; False if it was applied before."""
        if event_id in self.applied_events:
            return False
        # The newest few are enough: brokers redeliver recent events, not ancient ones.
        self.applied_events = [*self.applied_events[-49:], event_id]
        return True


@dataclasses.dataclass(frozen=True)
class SessionFilter:
    """The sessions a list asks for; an empty field asks for any."""

    channel: Channel | None = None
    state: State | None = None
    customer_id: str = ""
    queue: str = ""


@dataclasses.dataclass(frozen=True)
class TranscriptLimits:
    """How much of a conversation one session keeps: its newest `max_messages` messages within
    `max_bytes` (`Message.stored_bytes`). Older messages stay on the ticket; keeping every one
    would let a long email thread outgrow what a record, an RPC or an event can carry."""

    max_messages: int
    max_bytes: int

    def __post_init__(self) -> None:
        if self.max_messages < 1 or self.max_bytes < 1:
            raise ValueError(f"a session keeps at least one message and one byte (got {self})")


@dataclasses.dataclass(frozen=True)
class TextLimit:
    """The longest text a person may send at once (chat message, reply, note, recognised speech)."""

    max_chars: int

    def check(self, text: str, field: str) -> str:
        if len(text) > self.max_chars:
            raise InvalidArgument(f"{field} is {len(text)} characters; the limit is {self.max_chars}")
        return text


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"
