"""Intent, language and emotion of what a customer says or writes.

`Classifier` is the pluggable interface (OMNI_CLASSIFIER="package.module:factory" swaps in a
model-backed one); `KeywordClassifier` is the default and works offline: keyword rules in
Chinese and English, script-based language detection, and an emotion score (and the emergency
flag) from the weighted cues of `emotion_cues`, scored afresh for every customer turn.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Mapping, Sequence
from typing import Protocol

from omni.sessions.domain import emotion_cues as cues


@dataclasses.dataclass(frozen=True)
class Classification:
    intent: str = ""
    # BCP-47 primary tag ("zh", "en", ...); empty when there is no text to judge.
    language: str = ""
    # 0 (calm) .. 10 (furious).
    emotion_score: int = 0
    # Emergency words (complaint, urgent, safety / 投诉, 紧急, 安全) were found.
    urgent: bool = False


class Classifier(Protocol):
    def classify(self, text: str) -> Classification: ...


# Intent -> keywords (lower-case; Chinese matched as substrings, English as words/phrases).
# Order matters: the first intent whose keywords match wins, so the serious ones come first.
DEFAULT_INTENT_KEYWORDS: Mapping[str, Sequence[str]] = {
    "complaint": ("投诉", "投拆", "举报", "complaint", "complain"),
    "safety": ("安全", "漏电", "火灾", "safety", "fire", "gas leak"),
    "cancellation": ("取消", "退订", "销户", "cancel", "unsubscribe", "terminate"),
    "refund": ("退款", "退钱", "refund", "money back"),
    "billing": ("账单", "话费", "扣费", "付款", "缴费", "发票", "bill", "billing", "invoice", "payment", "charge"),
    "technical": ("网络", "断网", "宽带", "故障", "上不了网", "信号", "internet", "outage", "not working",
                  "broken", "error", "wifi", "signal"),
    "account": ("密码", "登录", "账号", "账户", "password", "login", "log in", "account", "sign in"),
    "sales": ("购买", "套餐", "升级", "办理", "buy", "purchase", "upgrade", "plan", "price"),
    "agent_request": ("人工", "客服", "转人工", "agent", "operator", "human", "representative"),
    # Simple questions the self-service bot answers from the knowledge base (after a person is asked for).
    "opening_hours": ("营业时间", "工作时间", "几点开门", "几点下班", "几点上班", "opening hours", "business hours",
                      "when are you open", "what time do you open", "what time do you close"),
    "order_status": ("物流", "快递", "包裹", "到哪了", "发货", "where is my parcel", "where is my order",
                     "parcel", "tracking", "track my order", "delivery status"),
}

# Intents that mean an upset customer whatever the wording (unless said politely).
HIGH_EMOTION_INTENTS: Mapping[str, int] = {"complaint": 8, "safety": 7}

_CJK = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_LATIN = re.compile(r"[A-Za-z]")
_SHOUTED = re.compile(r"\b[A-Z]{3,}\b")


def detect_language(text: str) -> str:
    if _KANA.search(text):
        return "ja"
    if _HANGUL.search(text):
        return "ko"
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    if cjk and cjk * 3 >= latin:
        return "zh"
    return "en" if latin else ""


def _contains(text: str, lowered: str, keyword: str) -> bool:
    if _CJK.search(keyword):
        return keyword in text
    return re.search(rf"\b{re.escape(keyword)}\b", lowered) is not None


class _Cues:
    """One cue table compiled to a single pattern, longest cue first, so that a cue inside a
    longer one that matched (急 in 紧急) does not count again."""

    def __init__(self, words: Sequence[str]) -> None:
        alternatives = []
        for word in sorted(words, key=len, reverse=True):
            escaped = re.escape(word)
            alternatives.append(escaped if _CJK.search(word) else rf"(?<![a-z']){escaped}(?![a-z])")
        self._pattern = re.compile("|".join(alternatives))

    def take(self, lowered: str) -> tuple[int, str]:
        """How often the cues occur in `lowered`, and `lowered` with them blanked out."""
        hits = 0

        def blank(match: re.Match[str]) -> str:
            nonlocal hits
            hits += 1
            return " " * len(match.group())

        rest = self._pattern.sub(blank, lowered)
        return hits, rest


_DISCLAIMED, _EMERGENCY = _Cues(cues.DISCLAIMED), _Cues(cues.EMERGENCY)
# Emotion evidence and its weight: a strong cue (6) plus any intensifier reaches 8.
_WEIGHTED = tuple((_Cues(words), weight) for words, weight in (
    (cues.STRONG_ANGER, 6), (cues.SARCASM, 6), (cues.MODERATE_ANGER, 4), (cues.THREATS, 4),
    (cues.REPETITION, 2), (cues.INTENSIFIERS, 2)))
_POLITE = _Cues(cues.POLITE)


class KeywordClassifier:
    def __init__(self, intent_keywords: Mapping[str, Sequence[str]] | None = None) -> None:
        self._intents = dict(intent_keywords or DEFAULT_INTENT_KEYWORDS)

    def classify(self, text: str) -> Classification:
        lowered = text.lower()
        intent = next(
            (name for name, words in self._intents.items() if any(_contains(text, lowered, w) for w in words)), ""
        )
        _, meant = _DISCLAIMED.take(lowered)
        urgent_hits, rest = _EMERGENCY.take(meant)
        score = 2 * min(urgent_hits, 2)
        for table, weight in _WEIGHTED:
            hits, rest = table.take(rest)
            score += weight * hits
        score += min(text.count("!") + text.count("！"), 2) + min(len(_SHOUTED.findall(text)), 2)
        score += text.count("?!") + text.count("？！")
        # Looked for in what is left, so the thanks of "thanks for nothing" do not count.
        polite = _POLITE.take(rest)[0] > 0
        # Politeness softens the turn and the intent's floor alike: "I'd like to make a
        # complaint, please" is a complaint, not a furious customer.
        softening = 2 if polite else 0
        score = max(score - softening, HIGH_EMOTION_INTENTS.get(intent, 0) - softening)
        return Classification(
            intent=intent,
            language=detect_language(text),
            emotion_score=max(0, min(score, 10)),
            urgent=urgent_hits > 0,
        )


def load_classifier(spec: str, intent_keywords: Mapping[str, Sequence[str]] | None = None) -> Classifier:
    """`""` → the keyword classifier; `"pkg.module:factory"` → whatever `factory()` returns."""
    if not spec:
        return KeywordClassifier(intent_keywords)
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        raise ValueError(f"OMNI_CLASSIFIER={spec!r} must look like 'package.module:factory'")
    factory = getattr(importlib.import_module(module_name), attribute)
    classifier: Classifier = factory()
    return classifier
