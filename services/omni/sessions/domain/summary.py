"""The draft summary an agent gets at wrap-up: extractive, Chinese and English.

Method: the transcript's own sentences, picked and never rewritten, so a date, an amount or an
order number is kept exactly as it was said. Each sentence is scored for three questions:

- **issue**: the customer's sentences (inbound); problem cues ("charged twice", "没有收到") and
  facts (order numbers, dates, amounts) raise a sentence, greetings and thanks sink it; the
  customer's first substantive sentence gets a bonus (people open with why they came);
- **done**: the agent's sentences with past/perfective action cues ("I have refunded", "已为您");
- **promised**: the agent's sentences with commitment cues ("will", "within 3 days", "会", "工作日内").

Within a question, sentences that share the conversation's salient words (jieba tokens for
Chinese, lowercase words for English, weighted by how often the conversation uses them) win ties,
so the sentence about the parcel beats a pleasantry with the same cue. No model weights: the cues
are lists in this file and jieba is already a dependency (knowledge's search); a language model
would summarise better but needs weights to download and would paraphrase away the order numbers
an agent must keep exact.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import re
from collections.abc import Iterable, Sequence

import jieba

jieba.setLogLevel(logging.WARNING)

MAX_SENTENCE_CHARS = 400

# A sentence ends at Chinese or Western end punctuation (a Western period only before space or the
# end, so "3.5" and "v1.2" stay whole), or at a line break.
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|(?<=\.)(?=\s|$)|\n+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")
# Facts worth keeping: order/ticket/tracking numbers (letters with digits, or 5+ digits), dates,
# weekdays, amounts.
_FACTS = re.compile(
    r"\b[A-Z]{1,5}-?\d{3,}\b|\b\d{5,}\b|#\s?\d{3,}|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?"
    r"|\d{1,2}月\d{1,2}[日号]|\d+\s*(?:个)?(?:工作日|天|小时|分钟)|[¥$€£]\s?\d|\d+(?:\.\d+)?\s*(?:元|块)"
    r"|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|today|tonight)\b"
    r"|\b\d+\s*(?:business |working )?(?:days?|hours?|weeks?)\b"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b"
    r"|周[一二三四五六日天]|星期[一二三四五六日天]|明天|今天|后天|下周",
    re.IGNORECASE)

_ISSUE_CUES = (
    "problem", "issue", "wrong", "broken", "damaged", "missing", "never arrived", "not arrived", "didn't arrive",
    "hasn't arrived", "not received", "haven't received", "charged twice", "double charged", "overcharged",
    "refund", "cancel", "complain", "can't", "cannot", "unable", "doesn't work", "does not work", "not working",
    "error", "late", "delayed", "still", "want", "need", "would like", "help with",
    "问题", "错", "坏", "损坏", "破", "丢", "没有收到", "没收到", "未收到", "还没", "扣了两次", "重复扣款", "多扣",
    "退款", "退货", "取消", "投诉", "无法", "不能", "用不了", "打不开", "失败", "延迟", "慢", "想", "需要", "怎么",
)
_DONE_CUES = (
    "i have", "i've", "i just", "we have", "we've", "has been", "have been", "was", "i checked", "i can see",
    "i found", "refunded", "cancelled", "canceled", "processed", "issued", "updated", "reset", "sent", "resent",
    "fixed", "changed", "verified", "confirmed", "escalated", "reissued", "credited",
    "已经", "已为您", "已帮您", "已给您", "已", "查到", "查了", "看到", "处理了", "办理了", "退回", "修改了", "重置",
    "补发了", "确认了",
)
_PROMISE_CUES = (
    "will", "i'll", "we'll", "you'll", "going to", "shall", "within", "by ", "expect", "should arrive",
    "should receive", "follow up", "get back to you", "call you back", "email you", "next week",
    "会", "将", "将在", "之内", "以内", "内到账", "工作日", "回电", "回复您", "跟进", "预计", "安排", "明天", "下周",
)
_SMALL_TALK = (
    "hello", "hi", "hey", "thanks", "thank you", "bye", "goodbye", "good morning", "good afternoon",
    "you're welcome", "no problem", "anything else", "have a nice day", "how can i help", "how may i help",
    "您好", "你好", "谢谢", "感谢", "再见", "不客气", "请问还有", "还有其他", "有什么可以帮", "祝您",
)


@dataclasses.dataclass(frozen=True)
class Turn:
    """One message of the conversation: `customer` for the customer's side (inbound)."""

    customer: bool
    text: str


@dataclasses.dataclass(frozen=True)
class Summary:
    language: str
    issue: tuple[str, ...]
    done: tuple[str, ...]
    promised: tuple[str, ...]

    def text(self) -> str:
        """The draft as the agent edits it: three labelled lines in the conversation's language."""
        labels = _LABELS["zh" if self.language.startswith("zh") else "en"]
        empty = labels[3]
        lines = [f"{label}: {' '.join(part) or empty}"
                 for label, part in zip(labels[:3], (self.issue, self.done, self.promised), strict=True)]
        return "\n".join(lines)


_LABELS = {
    "en": ("Issue", "Done", "Promised", "—"),
    "zh": ("客户问题", "已处理", "承诺", "无"),
}


@dataclasses.dataclass(frozen=True)
class _Sentence:
    index: int
    customer: bool
    text: str
    lowered: str


def summarise(turns: Sequence[Turn], language: str = "", *, per_part: int = 2) -> Summary:
    """The draft summary of a conversation; `language` ("zh", "en", ...) picks the labels and,
    when empty, is guessed from the text."""
    sentences = list(_sentences(turns))
    language = language or ("zh" if any(_CJK.search(s.text) for s in sentences) else "en")
    salience = _salience(s.text for s in sentences)
    customer = [s for s in sentences if s.customer]
    agent = [s for s in sentences if not s.customer]
    first_substantive = next((s.index for s in customer if not _is_small_talk(s)), -1)

    def issue_score(s: _Sentence) -> float:
        return _cue_score(s, _ISSUE_CUES) + (2.0 if s.index == first_substantive else 0.0)

    promised = _best(agent, lambda s: _cue_score(s, _PROMISE_CUES) * 1.5, salience, per_part)
    done = _best([s for s in agent if s not in promised], lambda s: _cue_score(s, _DONE_CUES), salience, per_part)
    issue = _best(customer, issue_score, salience, per_part)
    return Summary(language=language, issue=_in_order(issue), done=_in_order(done), promised=_in_order(promised))


def _sentences(turns: Iterable[Turn]) -> Iterable[_Sentence]:
    index = 0
    for turn in turns:
        for piece in _SENTENCE_END.split(turn.text):
            text = " ".join(piece.split())
            if len(text) < 2 or text.startswith(">"):  # quoted email history is not this conversation
                continue
            yield _Sentence(index, turn.customer, text[:MAX_SENTENCE_CHARS], text.lower())
            index += 1


def _tokens(text: str) -> list[str]:
    if _CJK.search(text):
        return [w for w in jieba.lcut(text) if len(w) > 1 and _CJK.search(w)] + _WORD.findall(text.lower())
    return [w for w in _WORD.findall(text.lower()) if len(w) > 3]


def _salience(texts: Iterable[str]) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for text in texts:
        counts.update(set(_tokens(text)))
    return counts


def _is_small_talk(s: _Sentence) -> bool:
    return any(cue in s.lowered for cue in _SMALL_TALK) and not _FACTS.search(s.text) and len(s.text) < 60


def _cue_score(s: _Sentence, cues: Sequence[str]) -> float:
    hits = sum(1 for cue in cues if _has_cue(s.lowered, cue))
    if not hits:
        return 0.0
    score = 1.0 + 0.5 * min(hits, 3) + 1.5 * len(_FACTS.findall(s.text))
    return score - (2.0 if _is_small_talk(s) else 0.0)


def _has_cue(lowered: str, cue: str) -> bool:
    if _CJK.search(cue):
        return cue in lowered
    return re.search(rf"(?<![a-z']){re.escape(cue)}(?![a-z])", lowered) is not None


def _best(candidates: Sequence[_Sentence], cue: collections.abc.Callable[[_Sentence], float],
          salience: collections.Counter[str], count: int) -> list[_Sentence]:
    scored = []
    for s in candidates:
        base = cue(s)
        if base <= 0:
            continue
        tokens = set(_tokens(s.text))
        shared = sum(salience[t] - 1 for t in tokens) / (len(tokens) or 1)
        scored.append((base + 0.3 * shared, -s.index, s))
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [s for _, _, s in scored[:count]]


def _in_order(picked: Sequence[_Sentence]) -> tuple[str, ...]:
    return tuple(s.text for s in sorted(picked, key=lambda s: s.index))
