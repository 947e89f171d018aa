"""Demo knowledge base: categories and 33 Chinese and English articles, published.

Idempotent: categories and articles have fixed ids and request ids, so seeding twice changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc

from omni.runtime.clients import channel
from omnichannel.knowledge.v1 import knowledge_pb2 as pb
from omnichannel.knowledge.v1 import knowledge_pb2_grpc

CONTENT = Path(__file__).with_name("knowledge_articles.json")
_AUDIENCES = {"public": pb.AUDIENCE_PUBLIC, "internal": pb.AUDIENCE_INTERNAL}


def demo_content() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(CONTENT.read_text(encoding="utf-8"))
    return loaded


async def load(stub: knowledge_pb2_grpc.KnowledgeServiceAsyncStub, content: dict[str, Any]) -> int:
    """Create and publish what is missing; returns how many articles were published now."""
    for category in content["categories"]:
        try:
            await stub.CreateCategory(pb.CreateCategoryRequest(
                category_id=category["id"], category=pb.Category(name=category["name"],
                                                                 parent_id=category["parent_id"])), timeout=10)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
    published = 0
    for item in content["articles"]:
        article = await stub.CreateArticle(pb.CreateArticleRequest(
            article_id=item["id"], request_id=f"demo:{item['id']}",
            article=pb.Article(title=item["title"], body=item["body"], tags=item["tags"], language=item["language"],
                               audience=_AUDIENCES[item["audience"]], category_id=item["category"])), timeout=10)
        steps = {pb.ARTICLE_STATUS_DRAFT: [pb.ARTICLE_STATUS_REVIEW, pb.ARTICLE_STATUS_PUBLISHED],
                 pb.ARTICLE_STATUS_REVIEW: [pb.ARTICLE_STATUS_PUBLISHED]}.get(article.status, [])
        for status in steps:
            await stub.TransitionArticle(pb.TransitionArticleRequest(id=article.id, status=status), timeout=10)
        published += bool(steps)
    return published


async def seed(address: str, token: str) -> None:
    async with channel(address, token) as chan:
        await load(knowledge_pb2_grpc.KnowledgeServiceStub(chan), demo_content())
