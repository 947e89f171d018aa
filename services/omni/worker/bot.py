"""The worker loop: TakeBotWork → Suggest → SendReply + CompleteBotWork(resolved), or hand over."""

from __future__ import annotations

import asyncio
import logging

import grpc
from google.protobuf.duration_pb2 import Duration

from omni.worker.answering import Answer, Candidate, Handoff, asks_for_person, handoff_note, respond
from omni.worker.settings import WorkerSettings
from omnichannel.common.v1 import common_pb2
from omnichannel.knowledge.v1 import knowledge_pb2, knowledge_pb2_grpc
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2, sessions_pb2_grpc

log = logging.getLogger("omni.worker")


class BotWorker:
    def __init__(self, settings: WorkerSettings, routing: grpc.aio.Channel, knowledge: grpc.aio.Channel,
                 sessions: grpc.aio.Channel) -> None:
        self.settings = settings
        self.routing = routing_pb2_grpc.RoutingServiceStub(routing)
        self.knowledge = knowledge_pb2_grpc.KnowledgeServiceStub(knowledge)
        self.sessions = sessions_pb2_grpc.SessionServiceStub(sessions)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Take no new work; conversations in hand are finished."""
        self._stopping.set()

    async def run(self) -> None:
        await asyncio.gather(*(self._loop(slot) for slot in range(self.settings.worker_concurrency)))

    async def _loop(self, slot: int) -> None:
        request = routing_pb2.TakeBotWorkRequest(worker_id=f"{self.settings.worker_id}/{slot}",
                                                 queue_ids=list(self.settings.worker_queues), wait=self._wait)
        while not self._stopping.is_set():
            try:
                taken = await self.routing.TakeBotWork(request, timeout=self.settings.worker_wait_seconds + 5)
            except grpc.aio.AioRpcError as exc:
                log.warning("TakeBotWork failed: %s %s; retrying", exc.code().name, exc.details())
                await asyncio.sleep(2)
                continue
            if taken.HasField("work"):
                try:
                    await self.handle(taken.work)
                except Exception:
                    # One bad item must not stop the slot; routing re-offers it when the claim lapses.
                    log.exception("handling %s failed", taken.work.id)

    @property
    def _wait(self) -> Duration:
        wait = Duration()
        # Whole seconds would turn a sub-second long-poll into a busy loop of empty polls.
        wait.FromNanoseconds(int(self.settings.worker_wait_seconds * 1e9))
        return wait

    async def handle(self, work: routing_pb2.WorkItem) -> None:
        outcome = await self._decide(work)
        if isinstance(outcome, Answer):
            failed = await self._reply(work, outcome.text, "bot-answer")
            if not failed:
                await self._complete(work, resolved=True, reason=f"answered with article {outcome.article_id}")
                return
            # The customer never saw the answer: a person takes over rather than losing them.
            outcome = Handoff(f"could not reply ({failed})")
        elif work.channel != common_pb2.CHANNEL_PHONE:
            await self._reply(work, handoff_note(work.language), "bot-handoff")
        await self._complete(work, resolved=False, reason=outcome.reason)

    async def _decide(self, work: routing_pb2.WorkItem) -> Answer | Handoff:
        min_score = self.settings.worker_min_score
        if work.channel == common_pb2.CHANNEL_PHONE:
            return Handoff("the bot answers in writing only; a caller needs a person")
        if asks_for_person(work.text) or not work.text.strip():
            return respond(work.text, [], min_score=min_score)
        try:
            found = await self.knowledge.Suggest(knowledge_pb2.SuggestRequest(
                text=work.text, queue=work.queue_id, intent=work.intent, session_id=work.session_id, limit=3,
                filter=knowledge_pb2.SearchFilter(audience=knowledge_pb2.AUDIENCE_PUBLIC, language=work.language)),
                timeout=5)
        except grpc.aio.AioRpcError as exc:
            log.warning("Suggest failed for %s: %s; handing over", work.id, exc.code().name)
            return respond(work.text, [], min_score=min_score, search_error=exc.code().name)
        candidates = [Candidate(h.article.id, h.article.title, h.article.body, h.score) for h in found.hits]
        return respond(work.text, candidates, min_score=min_score)

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
                    work_id=work.id, resolved=resolved, handoff_queue_id=handoff, reason=reason), timeout=10)
                log.info("work %s %s", work.id, "resolved" if resolved else f"handed to {handoff}: {reason}")
                return
            except grpc.aio.AioRpcError as exc:
                if exc.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                                  grpc.StatusCode.FAILED_PRECONDITION):
                    log.error("CompleteBotWork refused for %s: %s", work.id, exc.details())
                    return
                await asyncio.sleep(min(2**attempt, 10))
        log.error("CompleteBotWork for %s failed 5 times; routing will re-offer it when the claim lapses", work.id)
