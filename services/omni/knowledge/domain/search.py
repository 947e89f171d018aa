"""Relevance ranking over the published articles: BM25 (bm25s) × feedback × context.

`IndexSnapshot` is an immutable BM25 index over one set of served articles plus filter
postings (language, audience, tags, category subtree). bm25s keeps its term-document scores in
sparse arrays, so one query costs a few array look-ups however many articles there are; it
cannot add documents incrementally, so an edit builds a new snapshot (see `live_index`).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence

import bm25s
import numpy as np
import numpy.typing as npt

from omni.knowledge.domain import text
from omni.knowledge.domain.articles import primary_language
from omni.knowledge.domain.model import Article, Audience, Stats

# The title counts as much as this many copies of itself against the body.
TITLE_WEIGHT = 2
# Articles tagged with the conversation's queue or intent rank this much higher.
CONTEXT_BOOST = 1.25


@dataclasses.dataclass(frozen=True)
class Filter:
    category_id: str = ""
    # An article must carry all of these.
    tags: tuple[str, ...] = ()
    language: str = ""
    audience: Audience | None = None


@dataclasses.dataclass(frozen=True)
class Hit:
    article: Article
    score: float
    highlights: list[str]


def document_terms(article: Article) -> list[str]:
    served = article.served
    assert served is not None, "only published articles are indexed"
    c = served.content
    title = text.terms(c.title)
    return title * TITLE_WEIGHT + text.terms(" ".join(c.tags)) + text.terms(text.plain(c.body))


def feedback_weight(stats: Stats) -> float:
    """0.6 … 1.4: the smoothed share of good signals, neutral (1.0) without any.

    Four pseudo-votes (half good) keep one early "not helpful" from burying an article.
    """
    good = stats.helpful + stats.used_in_reply + stats.usage
    rate = (good + 2) / (good + stats.not_helpful + 4)
    return 0.6 + 0.8 * rate


Postings = dict[str, npt.NDArray[np.int64]]


def _postings(pairs: Iterable[tuple[str, int]]) -> Postings:
    grouped: defaultdict[str, list[int]] = defaultdict(list)
    for key, position in pairs:
        grouped[key].append(position)
    return {key: np.array(positions, dtype=np.int64) for key, positions in grouped.items()}


class IndexSnapshot:
    def __init__(self, articles: Sequence[Article], terms: Sequence[list[str]]) -> None:
        self.articles = list(articles)
        self.positions = {a.id: i for i, a in enumerate(self.articles)}
        self._bm25: bm25s.BM25 | None = None
        if self.articles:
            self._bm25 = bm25s.BM25()
            self._bm25.index([t or [""] for t in terms], show_progress=False)
        contents = [a.served.content for a in self.articles if a.served is not None]
        self._by_language = _postings((primary_language(c.language), i) for i, c in enumerate(contents))
        self._by_audience = _postings((str(c.audience), i) for i, c in enumerate(contents))
        self._by_tag = _postings((tag, i) for i, c in enumerate(contents) for tag in c.tags)
        self._by_category = _postings((cid, i) for i, c in enumerate(contents)
                                      for cid in (c.category_path or (c.category_id,)) if cid)
        self._weights = np.array([feedback_weight(a.stats) for a in self.articles], dtype=np.float32)

    def __len__(self) -> int:
        return len(self.articles)

    def set_stats(self, article_id: str, stats: Stats) -> None:
        position = self.positions.get(article_id)
        if position is not None:
            self.articles[position] = dataclasses.replace(self.articles[position], stats=stats)
            self._weights[position] = feedback_weight(stats)

    def _allowed(self, where: Filter) -> npt.NDArray[np.bool_] | None:
        mask: npt.NDArray[np.bool_] | None = None
        wanted: list[npt.NDArray[np.int64]] = []
        empty = np.zeros(0, dtype=np.int64)
        if where.language:
            wanted.append(self._by_language.get(primary_language(where.language), empty))
        if where.audience is not None:
            wanted.append(self._by_audience.get(str(where.audience), empty))
        if where.category_id:
            wanted.append(self._by_category.get(where.category_id, empty))
        wanted += [self._by_tag.get(tag.lower(), empty) for tag in where.tags]
        for positions in wanted:
            one = np.zeros(len(self.articles), dtype=np.bool_)
            one[positions] = True
            mask = one if mask is None else mask & one
        return mask

    def rank(self, query: Sequence[str], where: Filter, *, boost_tags: Sequence[str] = (),
             limit: int | None = None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Positions of matching articles, best first, and their scores (all of them without `limit`)."""
        none = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        if self._bm25 is None or not query:
            return none
        scores = self._bm25.get_scores(list(query)) * self._weights
        allowed = self._allowed(where)
        if allowed is not None:
            scores = np.where(allowed, scores, 0)
        for tag in dict.fromkeys(t.lower() for t in boost_tags if t):
            boosted = self._by_tag.get(tag)
            if boosted is not None:
                scores[boosted] *= CONTEXT_BOOST
        matching = np.flatnonzero(scores > 0)
        if limit is not None and len(matching) > limit:
            matching = matching[np.argpartition(-scores[matching], limit - 1)[:limit]]
        order = matching[np.argsort(-scores[matching], kind="stable")]
        return order, scores[order].astype(np.float32)

    def hits(self, query: Sequence[str], positions: Iterable[int], scores: Iterable[float]) -> list[Hit]:
        wanted = set(query)
        found: list[Hit] = []
        for position, score in zip(positions, scores, strict=True):
            article = self.articles[int(position)]
            assert article.served is not None
            content = article.served.content
            highlights = text.highlight(content.title, wanted, width=len(content.title) * 2, limit=1)
            highlights += text.highlight(text.plain(content.body), wanted)
            found.append(Hit(article, float(score), highlights))
        return found
