"""The worker's hold on routing's claim, against stand-ins for the services: once routing refuses
to renew it, another worker may be talking to the customer, so this one stops at once without
another word and without completing the work."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc

from omni.worker.bot import BotWorker
from omni.worker.settings import WorkerSettings
from omnichannel.common.v1 import common_pb2
from omnichannel.knowledge.v1 import knowledge_pb2
from omnichannel.routing.v1 import routing_pb2
from omnichannel.sessions.v1 import sessions_pb2


def _refused(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


class Routing:
    def __init__(self) -> None:
        self.renewals = 0
        self.completions: list[routing_pb2.CompleteBotWorkRequest] = []

    async def RenewBotClaim(self, request: routing_pb2.RenewBotClaimRequest, **_: Any) -> Any:
        self.renewals += 1
        if self.renewals == 1:
            raise _refused(grpc.StatusCode.UNAVAILABLE, "routing is restarting")
        raise _refused(grpc.StatusCode.FAILED_PRECONDITION, f"work {request.work_id} is no longer with "
                                                            f"{request.worker_id}: its claim lapsed")

    async def CompleteBotWork(self, request: routing_pb2.CompleteBotWorkRequest, **_: Any) -> Any:
        self.completions.append(request)
        return routing_pb2.WorkItem()


class Knowledge:
    async def Suggest(self, request: Any, **_: Any) -> knowledge_pb2.SuggestResponse:
        article = knowledge_pb2.Article(id="en-refund-request", title="How to request a refund", body="Go to Orders.")
        return knowledge_pb2.SuggestResponse(hits=[knowledge_pb2.SearchHit(article=article, score=9.0)])


class Watch:
    """A WatchSession call: the snapshot, then a customer who says nothing."""

    def __init__(self) -> None:
        self.updates: asyncio.Queue[sessions_pb2.SessionUpdate] = asyncio.Queue()
        self.updates.put_nowait(sessions_pb2.SessionUpdate(kind="snapshot", session=sessions_pb2.Session(
            state=sessions_pb2.SESSION_STATE_QUEUED)))

    async def read(self) -> sessions_pb2.SessionUpdate:
        return await self.updates.get()

    def cancel(self) -> None:
        pass


class Sessions:
    def __init__(self) -> None:
        self.replies: list[str] = []

    async def GetSession(self, request: sessions_pb2.GetSessionRequest, **_: Any) -> sessions_pb2.Session:
        return sessions_pb2.Session(id=request.id, state=sessions_pb2.SESSION_STATE_QUEUED)

    def WatchSession(self, request: Any) -> Watch:
        return Watch()

    async def SendReply(self, request: sessions_pb2.SendReplyRequest, **_: Any) -> Any:
        self.replies.append(request.text)
        return sessions_pb2.SendReplyResponse()


async def test_a_worker_whose_claim_routing_refuses_leaves_the_chat_without_a_word() -> None:
    settings = WorkerSettings(worker_queues=("billing",), worker_followup_seconds=60)
    channels = [grpc.aio.insecure_channel("127.0.0.1:9") for _ in range(3)]
    worker = BotWorker(settings, *channels)
    routing, sessions = Routing(), Sessions()
    worker.routing, worker.knowledge, worker.sessions = routing, Knowledge(), sessions  # type: ignore[assignment]
    work = routing_pb2.WorkItem(id="S-1", session_id="S-1", queue_id="billing", channel=common_pb2.CHANNEL_CHAT,
                                text="How do I request a refund?", language="en", bot_worker_id="bot-0/0")
    # Taken long ago: the first renewal is due at once (after the shortest pause, 1 s).
    work.bot_claim_expire_time.FromSeconds(1)

    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(worker.handle(work), 10)

    # A failed attempt is tried again; a refusal ends the conversation, well inside the 60 s follow-up.
    assert routing.renewals == 2
    assert asyncio.get_running_loop().time() - started < 5
    assert len(sessions.replies) == 1 and sessions.replies[0].startswith("How to request a refund")
    assert routing.completions == []
    for chan in channels:
        await chan.close()


async def test_a_worker_taking_over_a_chat_another_bot_answered_hands_it_to_a_person() -> None:
    settings = WorkerSettings(worker_queues=("billing",), worker_followup_seconds=60)
    channels = [grpc.aio.insecure_channel("127.0.0.1:9") for _ in range(3)]
    worker = BotWorker(settings, *channels)
    routing, sessions = Routing(), Sessions()
    worker.routing, worker.knowledge, worker.sessions = routing, Knowledge(), sessions  # type: ignore[assignment]
    # The first bot died after answering; the customer's replies since are not this bot's to guess.
    watch = Watch()
    watch.updates.get_nowait()  # instead of the unanswered snapshot:
    answered = sessions_pb2.SessionUpdate(kind="snapshot", session=sessions_pb2.Session(
        state=sessions_pb2.SESSION_STATE_QUEUED, messages=[sessions_pb2.Message(
            direction=common_pb2.DIRECTION_OUTBOUND, text="How to request a refund …")]))
    watch.updates.put_nowait(answered)
    sessions.WatchSession = lambda request: watch  # type: ignore[method-assign]
    work = routing_pb2.WorkItem(id="S-1", session_id="S-1", queue_id="billing", channel=common_pb2.CHANNEL_CHAT,
                                text="How do I request a refund?", language="en", bot_worker_id="bot-1/0")
    work.bot_claim_expire_time.FromSeconds(int(time.time()) + 3600)  # no renewal due during the test

    await asyncio.wait_for(worker.handle(work), 10)

    assert [r.startswith("I'm passing you to a colleague") for r in sessions.replies] == [True]
    [completed] = routing.completions
    assert not completed.resolved and completed.reason == "taken over from a bot whose claim lapsed mid-conversation"
    for chan in channels:
        await chan.close()
