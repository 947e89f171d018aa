"""Wiring of the knowledge service: index load, servicer, consumers, resync, access rules."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import uuid
from collections.abc import Sequence

import grpc

from omni.knowledge import repository
from omni.knowledge.consumers import KnowledgeConsumers
from omni.knowledge.domain import text
from omni.knowledge.domain.live_index import LiveIndex
from omni.knowledge.publishing import DOMAIN, EVENT_TYPES, ArticleEvents
from omni.knowledge.servicer import KnowledgeServicer
from omni.knowledge.settings import KnowledgeSettings
from omni.knowledge.usecases import KnowledgeBase
from omni.runtime.auth import BOTS, EVERYONE, MANAGERS, STAFF, Role
from omni.runtime.clock import utcnow
from omni.runtime.server import Runtime, ServiceSpec
from omnichannel.knowledge.v1 import knowledge_pb2, knowledge_pb2_grpc

log = logging.getLogger("omni.knowledge")
# Clocks of replicas and the database differ a little; re-read a bit more than the interval.
_RESYNC_OVERLAP = dt.timedelta(seconds=5)


def replica_name() -> str:
    """Unique per process, so each replica's consumer gets every article event."""
    host = "".join(c if c.isalnum() else "-" for c in socket.gethostname().lower())[:40]
    return f"knowledge-{host}-{uuid.uuid4().hex[:8]}"


async def register(server: grpc.aio.Server, runtime: Runtime) -> Sequence[str]:
    settings = KnowledgeSettings.extending(runtime.settings)
    await asyncio.to_thread(text.initialise)
    events = ArticleEvents(runtime.bus)
    repo = repository.KnowledgeRepository(runtime.mongo, runtime.db, runtime.processed_events("knowledge-usage"))
    kb = KnowledgeBase(repo, LiveIndex(), events, settings)
    # Events from just before the load on are replayed: re-reading an article is harmless.
    loaded_at = utcnow() - _RESYNC_OVERLAP
    await kb.load()
    knowledge_pb2_grpc.add_KnowledgeServiceServicer_to_server(KnowledgeServicer(kb, runtime.page_tokens), server)

    consumers = KnowledgeConsumers(kb)
    runtime.consumer(DOMAIN, consumers.on_article_event, event_types=EVENT_TYPES, name=replica_name(),
                     inactive_threshold=settings.knowledge_consumer_idle_seconds, start_time=loaded_at)
    if settings.knowledge_count_usage:
        runtime.consumer("sessions", consumers.on_interaction, event_types=["interaction_received"])
    if settings.knowledge_resync_seconds > 0:
        runtime.background(_resync_loop(kb, settings.knowledge_resync_seconds, loaded_at), name="knowledge-resync")
    return [knowledge_pb2.DESCRIPTOR.services_by_name["KnowledgeService"].full_name]


async def _resync_loop(kb: KnowledgeBase, every: float, since: dt.datetime) -> None:
    """Backstop for an event lost between a write and its publish: re-read recent changes."""
    while True:
        await asyncio.sleep(every)
        started = utcnow()
        try:
            await kb.resync(since)
        except Exception:
            log.exception("index resync failed; trying again in %.0fs", every)
            continue
        since = started - _RESYNC_OVERLAP


def _rules() -> dict[str, frozenset[Role]]:
    table = {
        "CreateCategory": MANAGERS, "ListCategories": STAFF,
        "CreateArticle": MANAGERS, "UpdateArticle": MANAGERS, "TransitionArticle": MANAGERS,
        "RollbackArticle": MANAGERS, "ListArticleVersions": MANAGERS, "DiffArticleVersions": MANAGERS,
        "GetArticle": STAFF, "ListArticles": STAFF,
        # Customers (help centre, chat widget) and self-service bots get public articles only:
        # domain/access.py, applied by the use cases. Feedback counts for people, not bots.
        "SearchArticles": EVERYONE | BOTS, "Suggest": EVERYONE | BOTS, "RecordFeedback": EVERYONE,
    }
    return {f"/omnichannel.knowledge.v1.KnowledgeService/{method}": roles for method, roles in table.items()}


ACCESS = _rules()
SPEC = ServiceSpec(name="knowledge", register=register, access_rules=ACCESS, indexes=repository.INDEXES)
