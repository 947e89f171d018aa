"""What the bot does with a customer's message (pure): answer from an article or hand over."""

from __future__ import annotations

import dataclasses
import re

# Customers asking for a person, in the languages the platform serves.
_ASK_FOR_PERSON = re.compile(
    r"\b(human|person|agent|operator|representative|someone real|real person|speak to (a|an|someone))\b"
    r"|人工|转人工|真人|客服人员",
    re.IGNORECASE,
)
# Routing ends the conversation once the bot resolves it, so the answer cannot invite a reply.
_ANSWER_FOOTER = "(Not what you needed? Start a new chat and ask for an agent.)"
_HANDOFF_NOTES = {
    "zh": "正在为您转接人工客服，请不要离开对话。",
    "en": "I'm passing you to a colleague who can help; please stay in the conversation.",
}


@dataclasses.dataclass(frozen=True)
class Candidate:
    article_id: str
    title: str
    body: str
    score: float


@dataclasses.dataclass(frozen=True)
class Answer:
    text: str
    article_id: str


@dataclasses.dataclass(frozen=True)
class Handoff:
    reason: str


def asks_for_person(text: str) -> bool:
    return bool(_ASK_FOR_PERSON.search(text))


def respond(text: str, candidates: list[Candidate], *, min_score: float, max_chars: int = 1200,
            search_error: str = "") -> Answer | Handoff:
    """`search_error` names why the knowledge base could not be asked (then `candidates` is empty)."""
    if asks_for_person(text):
        return Handoff("customer asked for a person")
    if not text.strip():
        return Handoff("no question to answer")
    if search_error:
        return Handoff(f"the knowledge base could not be searched ({search_error})")
    best = max(candidates, key=lambda c: c.score, default=None)
    if best is None:
        return Handoff("no knowledge-base article matches")
    if best.score < min_score:
        return Handoff(f"best knowledge-base match '{best.title}' scored {best.score:.2f} (< {min_score:.2f})")
    body = best.body.strip()
    if len(body) > max_chars:
        body = body[:max_chars].rsplit(" ", 1)[0] + " …"
    return Answer(f"{best.title}\n\n{body}\n\n{_ANSWER_FOOTER}", best.article_id)


def handoff_note(language: str) -> str:
    """What the customer reads while a person takes over, in their language (English otherwise)."""
    return _HANDOFF_NOTES.get(language.split("-", 1)[0].lower(), _HANDOFF_NOTES["en"])
