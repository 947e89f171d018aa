"""Which served articles an agent's reply used: named explicitly, or quoted by title."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from omni.knowledge.domain.model import Article

# Attribute a desktop or the bot may set on an outbound interaction: article ids, comma-separated.
ARTICLE_ATTRIBUTE = "knowledge_article_ids"
# Shorter titles ("FAQ", "退款") would match replies that merely mention the word.
MIN_TITLE_CHARS = 6


def articles_used(reply: str, attributes: Mapping[str, str], served: Iterable[Article]) -> list[str]:
    named = {part.strip() for part in attributes.get(ARTICLE_ATTRIBUTE, "").split(",") if part.strip()}
    used: list[str] = []
    folded = reply.casefold()
    for article in served:
        version = article.served
        if version is None:
            continue
        title = version.content.title.casefold()
        if article.id in named or (len(title) >= MIN_TITLE_CHARS and title in folded):
            used.append(article.id)
    return used
