"""What the bot does with what a customer writes (pure): answer from an article, hand over to a
person, and on chat read the customer's reply to an answer."""

from __future__ import annotations

import dataclasses
import re

from omni.runtime.channels import Channel

# Customers asking for a person, in the languages the platform serves.
_ASK_FOR_PERSON = re.compile(
    r"\b(human|person|agent|operator|representative|someone real|real person|speak to (a|an|someone))\b"
    r"|人工|转人工|真人|客服人员",
    re.IGNORECASE,
)
# Saying self-service did not help, in a first message or in a reply to an answer.
_NOT_HELPED = re.compile(
    r"\b((didn|doesn|don|wasn|isn)['’]?t|(did|does|do|was|is) not)\s+(\w+\s+)?(help|answer|solve|resolve|fix)"
    r"|\bnot\s+(helpful|useful|resolved|solved|fixed|what i)|\b(unhelpful|useless)\b"
    r"|没用|没有用|没帮助|没有帮助|没解决|没有解决|不是我要|不对|不行",
    re.IGNORECASE,
)
# "No" to "Did this answer your question?": meaningful only as a reply to an answer.
_NO = re.compile(r"^\W*(no|nope|nah|not really|不是|没有|不)\b", re.IGNORECASE)
# Polite phrases that start like a "no" but say all is well.
_POLITE = re.compile(r"\bno (problem|worries)\b|没问题|没事", re.IGNORECASE)
# A thanks that goes on ("thanks, but it still has not arrived") is not the end of the matter.
_GOES_ON = re.compile(r"\b(but|still|however|although|yet)\b|但是|可是|不过|还是|仍然|还没", re.IGNORECASE)
_SATISFIED = re.compile(
    r"^\W*(yes|yep|yeah|ok|okay|great|perfect|cool)\b"
    r"|\b(thanks?|thank you|thx|cheers|got it|helped|solved|sorted|all good)\b"
    r"|谢谢|多谢|感谢|好的|明白了|懂了|解决了|可以了|^\W*(是|是的|对|嗯|好|行)\W*$",
    re.IGNORECASE,
)
# A reply with a question in it is read as one even when it also thanks: a thankful customer
# wrongly read as asking more costs a search (or a person), a question read as thanks loses them.
_QUESTION = re.compile(
    r"[?？]|\b(how|what|when|where|why|which)\b|(^|[,.;!]\s*)(can|could|do|does|is|are|will|would|should)\b"
    r"|吗|怎么|怎样|如何|什么|哪|多久|多少|为什么|能否|能不能",
    re.IGNORECASE,
)


@dataclasses.dataclass(frozen=True)
class _Wording:
    handoff: str
    chat_invitation: str
    email_invitation: str


_WORDING = {
    "zh": _Wording(
        handoff="正在为您转接人工客服，请不要离开对话。",
        chat_invitation="这个回答解决您的问题了吗？回复“人工”可转接人工客服。",
        email_invitation="这是否解答了您的问题？如未解决，请直接回复此邮件，告诉我们您还需要什么帮助。",
    ),
    "en": _Wording(
        handoff="I'm passing you to a colleague who can help; please stay in the conversation.",
        chat_invitation="Did this answer your question? Reply 'agent' to talk to a person.",
        # No trigger word: a reply quoting this email must not read as a request for a person.
        email_invitation="Did this answer your question? If not, reply to this email and tell us what you still need.",
    ),
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


@dataclasses.dataclass(frozen=True)
class Resolved:
    reason: str


@dataclasses.dataclass(frozen=True)
class Question:
    """The customer asked something else: search the knowledge base again."""

    text: str


# What the bot heard after an answer on chat, when it is not the customer's next message (a str).
@dataclasses.dataclass(frozen=True)
class Silence:
    seconds: float


@dataclasses.dataclass(frozen=True)
class Ended:
    """The session ended (the customer closed the chat)."""


@dataclasses.dataclass(frozen=True)
class OutOfTime:
    """The conversation reached the longest the bot keeps one (OMNI_WORKER_CONVERSATION_SECONDS)."""


@dataclasses.dataclass(frozen=True)
class ShuttingDown:
    pass


@dataclasses.dataclass(frozen=True)
class Unwatchable:
    """WatchSession failed or fell behind: the bot cannot see the customer's replies."""

    why: str


Heard = str | Silence | Ended | OutOfTime | ShuttingDown | Unwatchable


def asks_for_person(text: str) -> bool:
    return bool(_ASK_FOR_PERSON.search(text))


def _unanswerable(text: str) -> Handoff | None:
    if asks_for_person(text):
        return Handoff("customer asked for a person")
    if not text.strip():
        return Handoff("no question to answer")
    return None


def before_search(text: str, *, channel: Channel | None, intent: str, skills: tuple[str, ...]) -> Handoff | None:
    """Why a person takes over without the knowledge base being asked; None: search it."""
    if channel is Channel.PHONE:
        return Handoff("the bot answers in writing only; a caller needs a person")
    return outside_skills(intent, skills) or _unanswerable(text)


def respond(text: str, candidates: list[Candidate], *, min_score: float, language: str = "", by_email: bool = False,
            max_chars: int = 1200, search_error: str = "") -> Answer | Handoff:
    """`search_error` names why the knowledge base could not be asked (then `candidates` is empty)."""
    if (unanswerable := _unanswerable(text)) is not None:
        return unanswerable
    if _NOT_HELPED.search(text):
        return Handoff("customer says self-service did not help")
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
    wording = _wording(language)
    invitation = wording.email_invitation if by_email else wording.chat_invitation
    return Answer(f"{best.title}\n\n{body}\n\n{invitation}", best.article_id)


def after_answer(heard: Heard, *, article_id: str, answers: int, max_answers: int) -> Resolved | Handoff | Question:
    """The next step of a chat once the bot has given `answers` answers, the last from `article_id`."""
    match heard:
        case Silence(seconds):
            return Resolved(f"answered with article {article_id}; no reply within {seconds:g} s")
        case Ended():
            return Resolved(f"answered with article {article_id}; the customer left the chat")
        case OutOfTime():
            return Handoff("the chat went on longer than the bot keeps one; a person takes over")
        case ShuttingDown():
            return Handoff("the bot worker is shutting down")
        case Unwatchable(why):
            return cannot_follow(why)
    plain = _POLITE.sub("", heard)
    said = [f"said article {article_id} did not help"] if _NOT_HELPED.search(plain) or _NO.search(plain) else []
    if asks_for_person(heard):
        said.append("asked for a person")
    if said:
        return Handoff("customer " + " and ".join(said))
    # Unsure means not resolved: a question, or a thanks that goes on, is searched again.
    if (_SATISFIED.search(heard) or _POLITE.search(heard)) and not _QUESTION.search(heard) \
            and not _GOES_ON.search(heard):
        return Resolved(f"customer confirmed article {article_id} helped")
    if answers >= max_answers:
        return Handoff(f"customer asked more after {answers} bot answers")
    return Question(heard)


def outside_skills(intent: str, skills: tuple[str, ...]) -> Handoff | None:
    """A pool that names its skills (the intents it answers) hands anything else to a person at once."""
    if not skills or intent in skills:
        return None
    return Handoff(f"this bot pool answers {', '.join(skills)}, not {intent or 'unclassified'} questions")


def cannot_follow(why: str) -> Handoff:
    """A chat the bot cannot follow goes to a person: the customer may be replying to nobody."""
    return Handoff(f"the bot cannot see the customer's replies (WatchSession {why})")


def taken_over() -> Handoff:
    """A chat another bot already answered (it died before its claim lapsed): the customer's
    replies since then are unknown to this one, so starting over would ignore them."""
    return Handoff("taken over from a bot whose claim lapsed mid-conversation")


def not_replied(failed: str) -> Handoff:
    """The customer never saw the answer (`failed`: why): a person takes over rather than losing them."""
    return Handoff(f"could not reply ({failed})")


def handoff_note(language: str) -> str:
    """What the customer reads while a person takes over, in their language (English otherwise)."""
    return _wording(language).handoff


def _wording(language: str) -> _Wording:
    return _WORDING.get(language.split("-", 1)[0].lower(), _WORDING["en"])
