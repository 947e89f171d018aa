"""Relevance ranking over the published articles: BM25 × feedback × context.

`SearchIndex` is a BM25 index (the Lucene variant bm25s implements, same k1, b and idf) over the
served articles plus filter postings (language, audience, tags, category subtree). It keeps each
term's postings as (slot, term frequency) arrays and computes BM25 at query time from them, the
document lengths and the corpus statistics, instead of storing precomputed scores: precomputed
scores depend on the average length and every term's document frequency, so one edit would
invalidate all of them (bm25s can only rebuild). Here an edit replaces that article's postings
only, and a query still costs a few vector operations over the postings of its terms.

Each term's BM25 contributions (idf × normalised term frequency per posting) are kept between
queries until the next change of the corpus (any change moves the average length, and with it
every contribution), and so are the filter masks: queries far outnumber edits. Each served
version is segmented once, when it is indexed: the term spans of its title and body are kept
(as arrays of term ids and offsets) for highlighting, so no query segments an article.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from omni.knowledge.domain import text
from omni.knowledge.domain.articles import primary_language
from omni.knowledge.domain.model import Article, Audience, Stats
from omni.knowledge.domain.text import Term

# The title counts as much as this many copies of itself against the body.
TITLE_WEIGHT = 2
# BM25 parameters (bm25s' defaults, which the ranking was tuned with).
K1 = 1.5
B = 0.75
# The weights of this many distinct filters are kept between queries (4 bytes per article each).
KEPT_FILTERS = 32
# Up to this many results are picked by repeated maxima rather than by sorting the matches.
FEW = 16
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


@dataclasses.dataclass(frozen=True, slots=True)
class _Segmentation:
    """One served version's title and plain-body term spans, segmented once: term ids (in the
    index's vocabulary) and offsets, the title's first."""

    ids: npt.NDArray[np.int32]
    starts: npt.NDArray[np.int32]
    ends: npt.NDArray[np.int32]
    title_spans: int
    # The plain body the spans point into, where it differs from the body (markup, spacing):
    # highlights then need no regex per hit, and most bodies cost no second copy.
    plain_body: str | None


def feedback_weight(stats: Stats) -> float:
    """0.6 … 1.4: the smoothed share of good signals, neutral (1.0) without any.

    Four pseudo-votes (half good) keep one early "not helpful" from burying an article.
    """
    good = stats.helpful + stats.used_in_reply + stats.usage
    rate = (good + 2) / (good + stats.not_helpful + 4)
    return 0.6 + 0.8 * rate


Slots = npt.NDArray[np.int32]


class _Postings:
    """The slots holding one term or filter value, with the term's frequency in each."""

    __slots__ = ("slots", "tf")

    def __init__(self, slots: Slots, tf: npt.NDArray[np.float32]) -> None:
        self.slots = slots
        self.tf = tf

    def add(self, slot: int, tf: float) -> None:
        self.slots = np.append(self.slots, np.int32(slot))
        self.tf = np.append(self.tf, np.float32(tf))

    def remove(self, slot: int) -> None:
        keep = self.slots != slot
        self.slots, self.tf = self.slots[keep], self.tf[keep]


def _grouped(pairs: Iterable[tuple[str, int, float]]) -> dict[str, _Postings]:
    slots: defaultdict[str, list[int]] = defaultdict(list)
    tfs: defaultdict[str, list[float]] = defaultdict(list)
    for key, slot, tf in pairs:
        slots[key].append(slot)
        tfs[key].append(tf)
    return {key: _Postings(np.array(slots[key], dtype=np.int32), np.array(tfs[key], dtype=np.float32))
            for key in slots}


def _filter_keys(article: Article) -> dict[str, list[str]]:
    """The filter values an article is found under, per filter."""
    assert article.served is not None
    c = article.served.content
    return {"language": [primary_language(c.language)], "audience": [str(c.audience)], "tag": list(c.tags),
            "category": [cid for cid in (c.category_path or (c.category_id,)) if cid]}


_FILTERS = ("language", "audience", "tag", "category")


class SearchIndex:
    """The served articles, each in a slot; an edit re-indexes one slot.

    Mutated in place by one writer (the event loop) between queries, so a query never sees half an
    edit. Freed slots are reused; their weight is 0 and no postings point at them.
    """

    def __init__(self) -> None:
        self._articles: list[Article | None] = []
        self.positions: dict[str, int] = {}
        self._free: list[int] = []
        # Per slot: the term counts of its served version (kept to remove its postings on edit).
        self._counts: list[Counter[str] | None] = []
        self._terms: dict[str, _Postings] = {}
        self._filters: dict[str, dict[str, _Postings]] = {name: {} for name in _FILTERS}
        self._lengths = np.zeros(0, dtype=np.float32)
        self._weights = np.zeros(0, dtype=np.float32)
        self._total_length = 0
        # Per slot: its served version's term spans (for highlighting).
        self._segmentations: list[_Segmentation | None] = []
        # Term → id, for the spans; ids are never reused (an id only names a string).
        self._vocabulary: dict[str, int] = {}
        # Kept between queries until the corpus changes (`_changed`): term → (slots, BM25 part),
        # and per filter the feedback weights with the slots it excludes at 0.
        self._contributions: dict[str, tuple[Slots, npt.NDArray[np.float32]]] = {}
        self._scales: dict[Filter, npt.NDArray[np.float32]] = {}

    @classmethod
    def of(cls, articles: Iterable[Article]) -> SearchIndex:
        """Index many articles at once (start-up): postings are grouped, not appended one by one."""
        index = cls()
        served = [a for a in articles if a.served is not None]
        counts: list[Counter[str]] = []
        for article in served:
            segmentation, terms = index._segment(article)
            index._segmentations.append(segmentation)
            counts.append(terms)
        index._articles = list(served)
        index.positions = {a.id: i for i, a in enumerate(served)}
        index._counts = list(counts)
        index._terms = _grouped((term, slot, float(tf)) for slot, c in enumerate(counts) for term, tf in c.items())
        keys = [_filter_keys(a) for a in served]
        index._filters = {name: _grouped((value, slot, 1.0) for slot, k in enumerate(keys) for value in k[name])
                          for name in _FILTERS}
        index._lengths = np.array([_length(c) for c in counts], dtype=np.float32)
        index._weights = np.array([feedback_weight(a.stats) for a in served], dtype=np.float32)
        index._total_length = sum(_length(c) for c in counts)
        return index

    def _segment(self, article: Article) -> tuple[_Segmentation, Counter[str]]:
        """The served version's spans for highlighting and its term counts for BM25."""
        served = article.served
        assert served is not None, "only published articles are indexed"
        c = served.content
        title = list(text.term_spans(c.title))
        plain = text.plain(c.body)
        body = list(text.term_spans(plain))
        spans = title + body
        vocabulary = self._vocabulary
        ids = [vocabulary.setdefault(t.term, len(vocabulary)) for t in spans]
        segmentation = _Segmentation(np.array(ids, dtype=np.int32), np.array([t.start for t in spans], dtype=np.int32),
                                     np.array([t.end for t in spans], dtype=np.int32), len(title),
                                     None if plain == c.body else plain)
        counts = Counter(t.term for t in spans)
        for t in title:  # the title counts TITLE_WEIGHT times
            counts[t.term] += TITLE_WEIGHT - 1
        counts.update(text.terms(" ".join(c.tags)))
        return segmentation, counts

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def articles(self) -> list[Article]:
        return [a for a in self._articles if a is not None]

    def term_counts(self, article_id: str) -> Counter[str]:
        """The indexed terms of an article's served version (each article is segmented once)."""
        counts = self._counts[self.positions[article_id]]
        assert counts is not None
        return counts

    def at(self, slot: int) -> Article:
        article = self._articles[slot]
        assert article is not None, "rank never returns a free slot"
        return article

    def set_stats(self, article_id: str, stats: Stats) -> None:
        position = self.positions.get(article_id)
        if position is not None:
            article = self._articles[position]
            assert article is not None
            self._articles[position] = dataclasses.replace(article, stats=stats)
            self._weigh(position, feedback_weight(stats))

    def upsert(self, article: Article) -> None:
        """Serve `article` (which must have a served version) in place of what its slot held."""
        assert article.served is not None, "only published articles are indexed"
        slot = self.positions.get(article.id)
        if slot is not None:
            held = self._articles[slot]
            if held is not None and held.served == article.served:
                # Same served version: its terms (jieba's work) stay; only the signals may differ.
                self._articles[slot] = article
                self._weigh(slot, feedback_weight(article.stats))
                return
            self._unindex(slot)
        else:
            slot = self._take_slot()
            self.positions[article.id] = slot
        segmentation, counts = self._segment(article)
        for term, tf in counts.items():
            self._add(self._terms, term, slot, float(tf))
        for name, values in _filter_keys(article).items():
            for value in values:
                self._add(self._filters[name], value, slot, 1.0)
        self._changed()
        self._articles[slot] = article
        self._counts[slot] = counts
        self._segmentations[slot] = segmentation
        self._lengths[slot] = _length(counts)
        self._total_length += _length(counts)
        self._weights[slot] = feedback_weight(article.stats)

    def remove(self, article_id: str) -> None:
        slot = self.positions.pop(article_id, None)
        if slot is None:
            return
        self._unindex(slot)
        self._changed()
        self._articles[slot] = None
        self._counts[slot] = None
        self._segmentations[slot] = None
        self._free.append(slot)

    def _weigh(self, slot: int, weight: float) -> None:
        """A new feedback weight, also in the kept per-filter weights that admit the slot."""
        self._weights[slot] = weight
        for scale in self._scales.values():
            if scale[slot]:
                scale[slot] = weight

    def _changed(self) -> None:
        """The corpus changed: every kept BM25 part and filter mask is stale."""
        self._contributions.clear()
        self._scales.clear()

    def _take_slot(self) -> int:
        if self._free:
            return self._free.pop()
        slot = len(self._articles)
        self._articles.append(None)
        self._counts.append(None)
        self._segmentations.append(None)
        if slot >= len(self._lengths):
            grown = max(16, 2 * len(self._lengths))
            self._lengths = np.resize(self._lengths, grown)
            self._weights = np.resize(self._weights, grown)
            self._lengths[slot:] = 0
            self._weights[slot:] = 0
        return slot

    @staticmethod
    def _add(postings: dict[str, _Postings], key: str, slot: int, tf: float) -> None:
        found = postings.get(key)
        if found is None:
            postings[key] = _Postings(np.array([slot], dtype=np.int32), np.array([tf], dtype=np.float32))
        else:
            found.add(slot, tf)

    @staticmethod
    def _drop(postings: dict[str, _Postings], key: str, slot: int) -> None:
        found = postings[key]
        found.remove(slot)
        if not len(found.slots):
            del postings[key]

    def _unindex(self, slot: int) -> None:
        article, counts = self._articles[slot], self._counts[slot]
        assert article is not None and counts is not None
        for term in counts:
            self._drop(self._terms, term, slot)
        for name, values in _filter_keys(article).items():
            for value in dict.fromkeys(values):
                self._drop(self._filters[name], value, slot)
        self._total_length -= _length(counts)
        self._lengths[slot] = 0
        self._weights[slot] = 0

    def _bm25(self, query: Sequence[str]) -> npt.NDArray[np.float32]:
        """BM25 of every slot, as bm25s scores it: Lucene idf, length-normalised term frequency."""
        scores = np.zeros(len(self._articles), dtype=np.float32)
        for term in query:  # a repeated query term counts again, as in bm25s
            found = self._contribution(term)
            if found is not None:
                slots, part = found
                np.add.at(scores, slots, part)  # 2–3× faster than `scores[slots] += part` (numpy 2.4)
        return scores

    def _contribution(self, term: str) -> tuple[Slots, npt.NDArray[np.float32]] | None:
        """The term's postings and its BM25 part in each (idf × saturated, length-normalised tf)."""
        kept = self._contributions.get(term)
        if kept is not None:
            return kept
        found = self._terms.get(term)
        if found is None:
            return None
        n = len(self.positions)
        average = np.float32(self._total_length / n)
        df = len(found.slots)
        idf = np.float32(math.log(1 + (n - df + 0.5) / (df + 0.5)))
        lengths = self._lengths[found.slots]
        part = idf * (found.tf / (K1 * ((1 - B) + B * lengths / average) + found.tf))
        self._contributions[term] = kept = (found.slots, part)
        return kept

    def _allowed(self, where: Filter) -> npt.NDArray[np.bool_] | None:
        picks: list[tuple[str, str]] = []
        if where.language:
            picks.append(("language", primary_language(where.language)))
        if where.audience is not None:
            picks.append(("audience", str(where.audience)))
        if where.category_id:
            picks.append(("category", where.category_id))
        picks += [("tag", tag.lower()) for tag in where.tags]
        mask: npt.NDArray[np.bool_] | None = None
        for name, value in picks:
            one = np.zeros(len(self._articles), dtype=np.bool_)
            found = self._filters[name].get(value)
            if found is not None:
                one[found.slots] = True
            mask = one if mask is None else mask & one
        return mask

    def rank(self, query: Sequence[str], where: Filter, *, boost_tags: Sequence[str] = (),
             limit: int | None = None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Slots of matching articles, best first, and their scores (all of them without `limit`)."""
        none = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        if not self.positions or not query:
            return none
        scores = self._bm25(query)
        scores *= self._scale(where)
        for tag in dict.fromkeys(t.lower() for t in boost_tags if t):
            boosted = self._filters["tag"].get(tag)
            if boosted is not None:
                np.multiply.at(scores, boosted.slots, CONTEXT_BOOST)
        if limit is not None and limit <= FEW:
            return _best(scores, limit)
        matching = np.flatnonzero(scores > 0)
        if limit is not None and len(matching) > limit:
            matching = matching[np.argpartition(-scores[matching], limit - 1)[:limit]]
        order = matching[np.argsort(-scores[matching], kind="stable")]
        return order, scores[order].astype(np.float32)

    def _scale(self, where: Filter) -> npt.NDArray[np.float32]:
        """Every slot's feedback weight, 0 where `where` excludes it (kept per filter)."""
        # The filter itself is the key (frozen: hashed by its fields), not a deep copy of it.
        kept = self._scales.get(where)
        if kept is None:
            kept = self._weights[:len(self._articles)].copy()
            allowed = self._allowed(where)
            if allowed is not None:
                kept[~allowed] = 0
            if len(self._scales) >= KEPT_FILTERS:  # each is a float per article: forget the oldest
                del self._scales[next(iter(self._scales))]
            self._scales[where] = kept
        return kept

    def hits(self, query: Sequence[str], positions: Iterable[int], scores: Iterable[float]) -> list[Hit]:
        """The articles at `positions` with highlights of the query's terms, from the spans kept
        when each was indexed."""
        named = {self._vocabulary[t]: t for t in query if t in self._vocabulary}
        found: list[Hit] = []
        for position, score in zip(positions, scores, strict=True):
            article = self.at(int(position))
            spans = self._segmentations[int(position)]
            assert article.served is not None and spans is not None
            title: list[Term] = []
            body: list[Term] = []
            matched = np.zeros(len(spans.ids), dtype=np.bool_)
            for term_id in named:  # a few terms: cheaper than np.isin
                matched |= spans.ids == term_id
            for i in np.flatnonzero(matched).tolist():
                (title if i < spans.title_spans else body).append(
                    Term(named[int(spans.ids[i])], int(spans.starts[i]), int(spans.ends[i])))
            content = article.served.content
            highlights = text.highlight(content.title, named.values(), width=len(content.title) * 2, limit=1,
                                        spans=title)
            plain = content.body if spans.plain_body is None else spans.plain_body
            highlights += text.highlight(plain, named.values(), spans=body)
            found.append(Hit(article, float(score), highlights))
        return found


def _best(scores: npt.NDArray[np.float32], limit: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """The `limit` best slots with a score, best first (ties: lower slot first), by repeated
    maxima: for a few, cheaper than partitioning every match. Zeroes what it takes."""
    order: list[int] = []
    best: list[float] = []
    for _ in range(limit):
        slot = int(scores.argmax())
        if scores[slot] <= 0:
            break
        order.append(slot)
        best.append(float(scores[slot]))
        scores[slot] = 0
    return np.array(order, dtype=np.int64), np.array(best, dtype=np.float32)


def _length(counts: Counter[str]) -> int:
    # bm25s indexes an article without terms as one empty term, so it counts as length 1.
    return counts.total() or 1
