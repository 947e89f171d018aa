"""Inbound email: one email exchange is one session; replies join it by their thread headers."""

from __future__ import annotations

import hashlib

from omni.runtime.channels import Channel
from omni.runtime.clock import utcnow
from omni.sessions.domain.classifier import Classifier
from omni.sessions.domain.ivr import ContactFlow
from omni.sessions.domain.model import Attachment, Direction, Identity, Message, Session, State
from omni.sessions.mail_parsing import MailParser
from omni.sessions.repository import SessionRepository
from omni.sessions.usecases.conversations import Conversations


class Mailbox:
    def __init__(self, conversations: Conversations, repo: SessionRepository, parser: MailParser, *,
                 flow: ContactFlow, classifier: Classifier) -> None:
        self._c = conversations
        self._repo = repo
        self._parser = parser
        self._flow = flow
        self._classifier = classifier

    async def receive(self, raw: bytes, envelope_sender: str, recipients: list[str]) -> Session:
        """Store and announce one delivered email. Safe to call again for the same message."""
        parsed = await self._parser.parse(raw)
        facts = parsed.facts
        if not facts.message_id:
            # Stable for a re-delivery of the same bytes, so a retry still dedupes.
            facts.message_id = f"<{hashlib.sha256(raw).hexdigest()[:32]}@missing-message-id.invalid>"
            facts.defects.append("no Message-ID header; one was assigned")
        seen = await self._repo.find_by_email_ids([facts.message_id])
        if seen is not None:
            # Stored by an earlier try whose publish failed (the sender retries after our 451).
            stored = next(m for m in seen.messages if m.email and m.email.message_id == facts.message_id)
            await self._c.replay(seen, stored)
            return seen
        sender = facts.sender or envelope_sender
        facts.to = facts.to or recipients
        # Ids derived from the Message-ID: when storing failed half-way (451, the sender retries),
        # the retry overwrites the same attachments and reuses the same new session, leaving no
        # orphans, and its interaction has the same id (deduplicated downstream).
        key = hashlib.sha256(facts.message_id.encode()).hexdigest()[:20]
        attachments = [
            Attachment(f"A-{key}-{i}", part.filename, part.content_type, part.size, part.sha256, part.truncated)
            for i, part in enumerate(parsed.attachments)
        ]
        message = Message(
            id=f"I-{key}", direction=Direction.INBOUND, sender=sender,
            text=f"{facts.subject}\n\n{parsed.text}".strip() if facts.subject else parsed.text,
            time=utcnow(), attachments=attachments, email=facts, html=parsed.html,
        )
        automatic = facts.automatic
        thread = await self._repo.find_by_email_ids(facts.thread_ids())
        if thread is not None and not thread.terminal:
            session_id = thread.id
        elif await self._repo.exists(session_id := f"S-{key}"):
            pass  # opened by an earlier try of this very message that failed before storing it
        else:
            # A mail threading onto an earlier exchange stays that customer's conversation, whoever
            # sent it (the sender may be a third party: tickets decides, replies go to the customer).
            await self._c.open(
                Channel.EMAIL, thread.identities if thread is not None else
                [Identity("email", sender)] if sender and not automatic else [],
                display_name=thread.display_name if thread is not None else parsed.sender_name,
                previous=thread, session_id=session_id,
            )
        for attachment, part in zip(attachments, parsed.attachments, strict=True):
            await self._repo.store_attachment(session_id, attachment, part.content)

        def add(current: Session) -> None:
            if any(m.id == message.id for m in current.messages):
                return  # the same mail, delivered to another replica at the same moment, stored it
            found = self._classifier.classify(message.text)
            current.note(found)
            message.emotion_score = found.emotion_score
            self._c.add(current, message)
            if current.state is State.IVR:
                if automatic:
                    # Out-of-office and bounce mail never wakes an agent (and has no queue to wait in).
                    current.move(State.ENDED, message.time, "automatic reply or delivery report; not queued")
                else:
                    current.queue = self._flow.queue_for_intent(current.intent, self._flow.mailbox_queue(recipients))
                    current.move(State.QUEUED, message.time, "email received")

        session, _ = await self._c.record(session_id, add)
        return session

