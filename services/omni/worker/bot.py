"""The worker loop: TakeBotWork → Suggest → SendReply, on chat the customer's replies through
WatchSession, then CompleteBotWork (resolved, or handed to a person); RenewBotClaim meanwhile.

The worker's one gRPC module: every call to routing, knowledge and sessions is made here, and
what to say or whether a person takes over is left to `domain.answering`."""

from __future__ import annotations

import asyncio
import logging
import time

import grpc

from omni.runtime.channels import Channel
from omni.runtime.clients import channel
from omni.runtime.proto_values import channel_from_proto, duration, to_datetime
from omni.runtime.token_source import service_token
from omni.worker.domain.answering import (
    Answer,
    Candidate,
    Ended,
    Handoff,
    Heard,
    OutOfTime,
    Question,
    Resolved,
    ShuttingDown,
    Silence,
    Unwatchable,
    after_answer,
    before_search,
    cannot_follow,
    handoff_note,
    not_replied,
    respond,
    taken_over,
)
from omni.worker.settings import WorkerSettings
from omnichannel.common.v1 import common_pb2
from omnichannel.knowledge.v1 import knowledge_pb2, knowledge_pb2_grpc
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2, sessions_pb2_grpc

log = logging.getLogger("omni.worker")


def open_channels(settings: WorkerSettings) -> tuple[grpc.aio.Channel, grpc.aio.Channel, grpc.aio.Channel]:
    """Channels to routing, knowledge and sessions, each call carrying the worker's token for that
    service: from the token endpoint, renewed before it expires. The worker holds a client secret
    that gets it nothing but the `bot` role, never a signing key."""
    routing, knowledge, sessions = (
        channel(address, service_token(settings, name), tls_ca_file=settings.grpc_tls_ca_file)
        for name, address in (("routing", settings.routing_addr), ("knowledge", settings.knowledge_addr),
                              ("sessions", settings.sessions_addr)))
    return routing, knowledge, sessions


class BotWorker:
    def __init__(self, settings: WorkerSettings, routing: grpc.aio.Channel, knowledge: grpc.aio.Channel,
                 sessions: grpc.aio.Channel) -> None:
        self.settings = settings
        self.routing = routing_pb2_grpc.RoutingServiceStub(routing)
        self.knowledge = knowledge_pb2_grpc.KnowledgeServiceStub(knowledge)
        self.sessions = sessions_pb2_grpc.SessionServiceStub(sessions)
        self._stopping = asyncio.Event()
        self._handing_over = asyncio.Event()

    def stop(self) -> None:
        """Take no new work; the conversations in hand go on for `worker_drain_seconds` (a
        scale-down lets them finish), then chats still waiting for the customer go to a person."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        drain = self.settings.worker_drain_seconds
        if drain > 0:
            asyncio.get_running_loop().call_later(drain, self._handing_over.set)
        else:
            self._handing_over.set()

    async def run(self) -> None:
        await asyncio.gather(*(self._loop(slot) for slot in range(self.settings.worker_concurrency)))

    async def _loop(self, slot: int) -> None:
        request = routing_pb2.TakeBotWorkRequest(worker_id=f"{self.settings.worker_id}/{slot}",
                                                 queue_ids=list(self.settings.worker_queues),
                                                 wait=duration(self.settings.worker_wait_seconds))
        while not self._stopping.is_set():
            try:
                taken = await self.routing.TakeBotWork(request, timeout=self.settings.worker_wait_seconds + 5)
            except grpc.aio.AioRpcError as exc:
                log.warning("TakeBotWork failed: %s %s; retrying", exc.code().name, exc.details())
                await asyncio.sleep(2)
                continue
            if taken.HasField("work") and self._stopping.is_set():
                # A long poll that outlived SIGTERM: answering now would leave no one to follow up.
                await self._complete(taken.work, resolved=False, reason="the bot worker is shutting down")
            elif taken.HasField("work"):
                try:
                    await self.handle(taken.work)
                except Exception:
                    # One bad item must not stop the slot; routing re-offers it when the claim lapses.
                    log.exception("handling %s failed", taken.work.id)

    async def handle(self, work: routing_pb2.WorkItem) -> None:
        """Serve the work while renewing routing's claim on it. Once routing refuses the claim,
        another worker may have the customer: this one stops without a word or a completion."""
        serving = asyncio.create_task(self._serve(work), name=f"serve {work.id}")
        claiming = asyncio.create_task(self._keep_claim(work), name=f"claim {work.id}")
        try:
            await asyncio.wait((serving, claiming), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (serving, claiming):
                task.cancel()
            await asyncio.wait((serving, claiming))
        if not serving.cancelled():
            serving.result()

    async def _keep_claim(self, work: routing_pb2.WorkItem) -> None:
        """Renew the claim halfway to each expiry; return once routing refuses it (lapsed, the
        work finished, or with another worker)."""
        request = routing_pb2.RenewBotClaimRequest(work_id=work.id, worker_id=work.bot_worker_id)
        expires = to_datetime(work.bot_claim_expire_time).timestamp()
        while True:
            # Halfway leaves room for failed attempts; the floor keeps a clock that disagrees with
            # routing's (or an expiry already past) from turning this into a busy loop.
            await asyncio.sleep(max(_MIN_RENEWAL_GAP, (expires - time.time()) / 2))
            try:
                renewed = await self.routing.RenewBotClaim(request, timeout=10)
            except grpc.aio.AioRpcError as exc:
                if exc.code() in _ROUTING_MOVED_ON:
                    log.warning("work %s is no longer %s's (%s); leaving it", work.id, work.bot_worker_id,
                                exc.details())
                    return
                log.warning("RenewBotClaim failed for %s: %s %s; trying again", work.id, exc.code().name,
                            exc.details())
                continue
            expires = to_datetime(renewed.expire_time).timestamp()

    async def _serve(self, work: routing_pb2.WorkItem) -> None:
        deadline = asyncio.get_running_loop().time() + self.settings.worker_conversation_seconds
        refused = await self._until_sessions_agrees(work)
        if refused:
            await self._complete(work, resolved=False, reason=refused)
            return
        channel = channel_from_proto(work.channel)
        if channel is Channel.CHAT:
            outcome = await self._chat(work, deadline)
        else:
            outcome = await self._answer_once(work)
        if isinstance(outcome, Handoff) and channel is not Channel.PHONE:
            await self._reply(work, handoff_note(work.language), "bot-handoff")
        await self._complete(work, resolved=isinstance(outcome, Resolved), reason=outcome.reason)

    async def _until_sessions_agrees(self, work: routing_pb2.WorkItem) -> str:
        """Wait until sessions lets the bot at the session: it learns of routing's overflow from an
        event, a moment after routing hands out the work, and refuses a bot any session that is not
        with the bots. "" once it agrees (or fails otherwise: later calls handle that), else why not."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _SESSIONS_CATCH_UP_SECONDS
        while True:
            try:
                await self.sessions.GetSession(sessions_pb2.GetSessionRequest(id=work.session_id), timeout=5)
                return ""
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.PERMISSION_DENIED:
                    return ""
                if loop.time() >= deadline:
                    log.warning("sessions refuses the bot session %s: %s", work.session_id, exc.details())
                    return f"sessions does not show the conversation with the bots: {exc.details()}"
            await asyncio.sleep(_SESSIONS_CATCH_UP_POLL)

    async def _answer_once(self, work: routing_pb2.WorkItem) -> Resolved | Handoff:
        """One answer and done: email has no live follow-up (a reply reaches the ticket anyway);
        a call is handed over."""
        outcome = await self._decide(work, work.text)
        if isinstance(outcome, Handoff):
            return outcome
        failed = await self._reply(work, outcome.text, "bot-answer-1")
        return not_replied(failed) if failed else Resolved(f"answered with article {outcome.article_id}")

    async def _chat(self, work: routing_pb2.WorkItem, deadline: float) -> Resolved | Handoff:
        """Answer, then read the customer's reply: another question is answered again."""
        outcome = await self._decide(work, work.text)
        if isinstance(outcome, Handoff):
            return outcome
        # Watching before the answer goes out, so a quick reply cannot slip past.
        watch = self.sessions.WatchSession(sessions_pb2.WatchSessionRequest(session_id=work.session_id))
        try:
            refused = await _opened(watch, work.session_id)
            if refused is not None:
                return refused
            answers = 0
            while True:
                answers += 1
                failed = await self._reply(work, outcome.text, f"bot-answer-{answers}")
                if failed:
                    return not_replied(failed)
                step = after_answer(await self._listen(watch, work.session_id, deadline),
                                    article_id=outcome.article_id, answers=answers,
                                    max_answers=self.settings.worker_max_answers)
                if not isinstance(step, Question):
                    return step
                outcome = await self._decide(work, step.text)
                if isinstance(outcome, Handoff):
                    return outcome
        finally:
            watch.cancel()

    async def _listen(self, watch: _Watch, session_id: str, deadline: float) -> Heard:
        """The customer's next message, or why none came; a shutdown's hand-over (once the drain
        time passed) stops the wait at once."""
        followup = self.settings.worker_followup_seconds
        left = deadline - asyncio.get_running_loop().time()
        reading = asyncio.create_task(_next_from_customer(watch, session_id))
        stopping = asyncio.create_task(self._handing_over.wait())
        try:
            done, _ = await asyncio.wait((reading, stopping), timeout=max(0.0, min(followup, left)),
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reading, stopping):
                task.cancel()
        if reading in done:
            return reading.result()
        if stopping in done:
            return ShuttingDown()
        return Silence(followup) if followup <= left else OutOfTime()

    async def _decide(self, work: routing_pb2.WorkItem, text: str) -> Answer | Handoff:
        min_score = self.settings.worker_min_score
        channel = channel_from_proto(work.channel)
        if (handoff := before_search(text, channel=channel, intent=work.intent,
                                     skills=self.settings.worker_skills)) is not None:
            return handoff
        try:
            found = await self.knowledge.Suggest(knowledge_pb2.SuggestRequest(
                text=text, queue=work.queue_id, intent=work.intent, session_id=work.session_id, limit=3,
                filter=knowledge_pb2.SearchFilter(audience=knowledge_pb2.AUDIENCE_PUBLIC, language=work.language)),
                timeout=5)
        except grpc.aio.AioRpcError as exc:
            log.warning("Suggest failed for %s: %s; handing over", work.id, exc.code().name)
            return respond(text, [], min_score=min_score, search_error=exc.code().name)
        candidates = [Candidate(h.article.id, h.article.title, h.article.body, h.score) for h in found.hits]
        return respond(text, candidates, min_score=min_score, language=work.language,
                       by_email=channel is Channel.EMAIL)

    async def _reply(self, work: routing_pb2.WorkItem, text: str, kind: str) -> str:
        """Send `text` on the customer's session; the gRPC code when it failed, else ""."""
        try:
            await self.sessions.SendReply(sessions_pb2.SendReplyRequest(
                session_id=work.session_id, text=text, request_id=f"{work.id}:{kind}"), timeout=10)
        except grpc.aio.AioRpcError as exc:
            log.warning("SendReply (%s) failed for %s: %s %s", kind, work.id, exc.code().name, exc.details())
            return exc.code().name
        return ""

    async def _complete(self, work: routing_pb2.WorkItem, *, resolved: bool, reason: str) -> None:
        handoff = "" if resolved else (self.settings.worker_handoff_queue or work.queue_id)
        for attempt in range(5):
            try:
                await self.routing.CompleteBotWork(routing_pb2.CompleteBotWorkRequest(
                    work_id=work.id, resolved=resolved, handoff_queue_id=handoff, reason=reason,
                    worker_id=work.bot_worker_id), timeout=10)
                log.info("work %s %s: %s", work.id, "resolved" if resolved else f"handed to {handoff}", reason)
                return
            except grpc.aio.AioRpcError as exc:
                if exc.code() in _ROUTING_MOVED_ON:
                    # Routing moved on meanwhile: the customer left and routing ended the work itself, or our
                    # claim lapsed and another worker has it.
                    log.warning("CompleteBotWork refused for %s: %s", work.id, exc.details())
                    return
                await asyncio.sleep(min(2**attempt, 10))
        log.error("CompleteBotWork for %s failed 5 times; routing will re-offer it when the claim lapses", work.id)


# Routing's answers meaning the work is no longer this worker's to serve.
_ROUTING_MOVED_ON = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION)
# Shortest pause between two renewals of one claim.
_MIN_RENEWAL_GAP = 1.0
# How long sessions may take to learn that routing gave the work to the bots, and how often to ask.
_SESSIONS_CATCH_UP_SECONDS = 5.0
_SESSIONS_CATCH_UP_POLL = 0.1
_Watch = grpc.aio.UnaryStreamCall[sessions_pb2.WatchSessionRequest, sessions_pb2.SessionUpdate]
_ENDED = (sessions_pb2.SESSION_STATE_ENDED, sessions_pb2.SESSION_STATE_ABANDONED)
# Longest wait for WatchSession's first update (the snapshot) before the chat counts as unwatchable.
_WATCH_OPEN_SECONDS = 10.0


async def _opened(watch: _Watch, session_id: str) -> Handoff | None:
    """None once the watch shows the session open and unanswered; else why a person takes over."""
    try:
        snapshot = await asyncio.wait_for(watch.read(), _WATCH_OPEN_SECONDS)
    except TimeoutError:
        snapshot, why = None, f"no snapshot within {_WATCH_OPEN_SECONDS:g} s"
    except grpc.aio.AioRpcError as exc:
        snapshot, why = None, exc.code().name
    else:
        why = "the session is over"
    if not isinstance(snapshot, sessions_pb2.SessionUpdate) or snapshot.session.state in _ENDED:
        return cannot_follow(_lost(session_id, why).why)
    if any(m.direction == common_pb2.DIRECTION_OUTBOUND for m in snapshot.session.messages):
        return taken_over()
    return None


async def _next_from_customer(watch: _Watch, session_id: str) -> Heard:
    try:
        while isinstance(update := await watch.read(), sessions_pb2.SessionUpdate):
            if update.kind == "message" and update.message.direction == common_pb2.DIRECTION_INBOUND:
                return update.message.text
            if update.kind == "state" and update.session.state in _ENDED:
                return Ended()
    except grpc.aio.AioRpcError as exc:
        return _lost(session_id, exc.code().name)
    # Sessions ends a watch that falls too far behind without a final state.
    return _lost(session_id, "the watch fell behind and was closed")


def _lost(session_id: str, why: str) -> Unwatchable:
    log.warning("cannot follow session %s (%s); a person takes over", session_id, why)
    return Unwatchable(why)
