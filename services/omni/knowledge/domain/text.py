"""Tokenisation for Chinese and English text, and highlighted snippets.

Chinese runs are segmented with jieba's search mode (which also emits the shorter words
inside long ones, so "退款申请" matches "退款"); other words are lower-cased and stemmed with
the Snowball English stemmer (PyStemmer), so "refunds" matches "refund". Common function
words of both languages are dropped: they would only add noise to a live conversation snippet.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Collection, Iterator, Sequence
from typing import NamedTuple

import jieba
import Stemmer

jieba.setLogLevel(logging.WARNING)
_STEMMER = Stemmer.Stemmer("english")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"([{_CJK}]+)|((?:(?![{_CJK}])[^\W_])+)")



def _words(listing: str) -> frozenset[str]:
    return frozenset(listing.split())


EN_STOPWORDS = _words("""
a an the is are was were be been am do does did i me my mine we our you your he she it its they them their
to of for in on at by with from and or but if so as this that these those there here what which who whom
how when where why can could would should will shall may might must please hi hello hey thanks thank
have has had not no yes just about into than then also any some get got want need
""")
ZH_STOPWORDS = _words("""
的 了 吗 呢 吧 啊 呀 哦 嗯 么 是 在 和 与 或 我 你 您 他 她 它 我们 你们 他们 这 那 这个 那个 有 也 都 就 还 要
请问 请 一下 可以 能 能够 什么 怎么 怎样 如何 为什么 哪里 哪儿 吗 一个 没有 不 没 很 会 想 给 对 把 被 让 到
""")


# A tuple, not a dataclass: every highlight makes one per matched span, and building a frozen
# dataclass costs several times as much.
class Term(NamedTuple):
    term: str
    start: int
    end: int


def initialise() -> None:
    """Load jieba's dictionary now (about a second) rather than on the first query."""
    jieba.initialize()


def term_spans(text: str) -> Iterator[Term]:
    for run in _RUNS.finditer(text):
        chinese, other = run.group(1), run.group(2)
        if chinese:
            for word, start, end in jieba.tokenize(chinese, mode="search"):
                if word not in ZH_STOPWORDS:
                    yield Term(word, run.start() + start, run.start() + end)
        else:
            word = other.lower()
            if word not in EN_STOPWORDS:
                yield Term(_STEMMER.stemWord(word), run.start(), run.end())


def terms(text: str) -> list[str]:
    return [t.term for t in term_spans(text)]


def query_terms(text: str) -> list[str]:
    """Distinct terms in first-seen order: repeating a word in a chat must not outweigh others."""
    return list(dict.fromkeys(terms(text)))


_MARKUP = re.compile(r"[#*_`>\[\]]+|\(https?://[^)]*\)")


def plain(markdown: str) -> str:
    return " ".join(_MARKUP.sub(" ", markdown).split())


# What `html.escape` changes; a text without any needs no escaping of its pieces.
_HTML_SPECIAL = re.compile(r"[&<>\"']")


def _verbatim(piece: str) -> str:
    return piece


def highlight(text: str, wanted: Collection[str], *, width: int = 60, limit: int = 2,
              spans: Sequence[Term] | None = None) -> list[str]:
    """Up to `limit` snippets of `text` around terms in `wanted`, matches wrapped in <em>..</em>.

    `spans` are `text`'s term spans when the caller kept them (segmenting is the costly part).
    """
    matches = [t for t in (term_spans(text) if spans is None else spans) if t.term in wanted]
    # Search mode also yields words inside longer words; keep the outermost of overlapping spans.
    kept: list[Term] = []
    for t in sorted(matches, key=lambda t: (t.start, -t.end)):
        if not kept or t.start >= kept[-1].end:
            kept.append(t)
    snippets: list[str] = []
    # Asked once per text: each snippet is escaped piece by piece, a dozen pieces per hit.
    escape = html.escape if _HTML_SPECIAL.search(text) else _verbatim
    i = 0
    while i < len(kept) and len(snippets) < limit:
        start = max(0, kept[i].start - width // 2)
        end = min(len(text), kept[i].end + width // 2)
        parts: list[str] = ["…" if start else ""]
        cursor = start
        while i < len(kept) and kept[i].end <= end:
            parts += [escape(text[cursor:kept[i].start]), "<em>", escape(text[kept[i].start:kept[i].end]),
                      "</em>"]
            cursor = kept[i].end
            i += 1
        if cursor == start:  # the match straddles the window's end: widen to it
            end = kept[i].end
            parts += [escape(text[cursor:kept[i].start]), "<em>", escape(text[kept[i].start:end]), "</em>"]
            cursor = end
            i += 1
        parts += [escape(text[cursor:end]), "…" if end < len(text) else ""]
        snippets.append("".join(parts))
    return snippets
