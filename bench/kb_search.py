"""How fast is Suggest over a large knowledge base, next to a naive substring scan?

Generates 10,000 published articles (half Chinese, half English), builds the index the service
uses (bm25s over jieba/Snowball terms, with filters and feedback weights) and times the Suggest
path (tokenise the snippet → rank → top 5 with highlights) against a naive scan that counts
query words in every article's text. Both answer the same queries in the same run.

    .venv/bin/python bench/kb_search.py [--articles 10000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import os
import platform
import random
import re
import statistics
import time

import jieba

from omni.devstack.demo.knowledge import demo_content
from omni.knowledge.domain import articles, text
from omni.knowledge.domain.live_index import LiveIndex
from omni.knowledge.domain.model import Article, Audience, Content, Status
from omni.knowledge.domain.search import Filter, IndexSnapshot


def vocabulary(chinese: bool) -> list[str]:
    """Words of the demo knowledge base, so generated articles read like support content."""
    found: dict[str, None] = {}
    for item in demo_content()["articles"]:
        if item["language"].startswith("zh") != chinese:
            continue
        words = jieba.lcut(item["title"] + item["body"]) if chinese else re.findall(r"[a-z]+", item["body"].lower())
        found.update(dict.fromkeys(w for w in words if len(w) >= (2 if chinese else 3) and w.isalpha()))
    return list(found)


EN = vocabulary(chinese=False)
ZH = vocabulary(chinese=True)
NOW = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)


def generate(count: int, rng: random.Random) -> list[Article]:
    made: list[Article] = []
    for i in range(count):
        chinese = i % 2 == 0
        words = ZH if chinese else EN
        joiner = "" if chinese else " "
        title = joiner.join(rng.sample(words, 4))
        body = joiner.join(rng.choice(words) for _ in range(rng.randint(60, 140)))
        content = Content(title=title, body=body, tags=tuple(rng.sample(words, 2)), category_id=f"c{i % 20}",
                          language="zh-CN" if chinese else "en",
                          audience=Audience.PUBLIC if i % 3 else Audience.INTERNAL, category_path=(f"c{i % 20}",))
        draft = articles.create(f"a{i}", content, "bench", NOW)
        made.append(articles.transition(articles.transition(draft, Status.REVIEW, NOW), Status.PUBLISHED, NOW))
    return made


def queries(count: int, rng: random.Random) -> list[str]:
    asked: list[str] = []
    for i in range(count):
        if i % 2:
            asked.append("hi, " + " ".join(rng.sample(EN, 3)) + " please?")
        else:
            asked.append("你好，" + "".join(rng.sample(ZH, 3)) + "怎么办")
    return asked


def suggest(snapshot: IndexSnapshot, snippet: str) -> list[str]:
    """What KnowledgeBase.suggest does per call (the caller's audience check aside)."""
    terms = text.query_terms(snippet)
    order, scores = snapshot.rank(terms, Filter(audience=Audience.PUBLIC), limit=5)
    return [h.article.id for h in snapshot.hits(terms, order, scores)]


_WORDS = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]+")


def naive_suggest(corpus: list[tuple[str, str]], snippet: str) -> list[str]:
    """Baseline: count each query word (Chinese runs cut into 2-character pieces) in every article."""
    words: list[str] = []
    for run in _WORDS.findall(snippet.lower()):
        words += [run[i:i + 2] for i in range(0, len(run) - 1)] if run[0] >= "\u4e00" else [run]
    scored = [(sum(body.count(w) for w in words), article_id) for article_id, body in corpus]
    return [article_id for score, article_id in sorted(scored, reverse=True)[:5] if score]


def timed(label: str, call: object, asked: list[str]) -> None:
    latencies: list[float] = []
    started = time.perf_counter()
    for q in asked:
        t0 = time.perf_counter()
        call(q)  # type: ignore[operator]
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(f"  {label:<34} {len(asked) / elapsed:>9.0f} q/s   p50 {p50:>8.3f} ms   p99 {p99:>8.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2_000)
    args = parser.parse_args()
    rng = random.Random(7)
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    text.initialise()
    corpus = generate(args.articles, rng)
    asked = queries(args.queries, rng)

    index = LiveIndex()
    index.replace_all(corpus)
    t0 = time.perf_counter()
    asyncio.run(index.refresh())
    print(f"articles: {len(corpus)} published ({len(index.snapshot)} indexed); "
          f"index build incl. tokenising {time.perf_counter() - t0:.2f} s")
    changed = dataclasses.replace(corpus[0].latest.content, body="changed body")
    edited = articles.edit(corpus[0], changed, "bench", "", NOW)
    index.apply(articles.transition(edited, Status.PUBLISHED, NOW))
    t0 = time.perf_counter()
    asyncio.run(index.refresh())
    print(f"rebuild after one edit (terms of the others cached): {time.perf_counter() - t0:.2f} s")

    snapshot = index.snapshot
    public = [(a.id, f"{a.latest.content.title} {a.latest.content.body}".lower()) for a in corpus
              if a.latest.content.audience is Audience.PUBLIC]
    for q in asked[:20]:  # warm-up
        suggest(snapshot, q)
    print(f"Suggest, top 5 of public articles, {len(asked)} queries (half Chinese, half English):")
    timed("bm25s index (the service)", lambda q: suggest(snapshot, q), asked)
    baseline = asked[: max(50, len(asked) // 10)]
    timed(f"naive substring scan ({len(baseline)} q)", lambda q: naive_suggest(public, q), baseline)


if __name__ == "__main__":
    main()
