"""What a survey page (the widget after a chat, or the page an emailed link opens) may send on its
survey socket: open one contact's survey with that contact's customer token, then answer it."""

from __future__ import annotations

import dataclasses

from omni.runtime.errors import InvalidArgument
from omni.web.domain.chat_frames import TOKEN_CHARS
from omni.web.domain.inputs import ID_CHARS, fields, text


@dataclasses.dataclass(frozen=True)
class OpenSurvey:
    session_id: str
    token: str


@dataclasses.dataclass(frozen=True)
class SurveyAnswer:
    csat: int
    nps: int | None


def survey_frame(message: object) -> OpenSurvey | SurveyAnswer:
    """`{"open": {"session_id", "token"}}` or `{"answer": {"csat": 1..5, "nps": 0..10 or absent}}`;
    the ranges themselves are sessions' rule, checked there."""
    frame = fields(message, "a survey frame")
    if len(frame) != 1 or next(iter(frame)) not in ("open", "answer"):
        raise InvalidArgument("a survey frame has exactly one of open, answer")
    kind, raw = next(iter(frame.items()))
    body = fields(raw, kind)
    if kind == "open":
        return OpenSurvey(text(body, "session_id", ID_CHARS, required=True),
                          text(body, "token", TOKEN_CHARS, required=True))
    return SurveyAnswer(_score(body, "csat"), _score(body, "nps") if body.get("nps") is not None else None)


def _score(body: dict[str, object], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not -1000 < value < 1000:
        raise InvalidArgument(f"{name} must be a whole number")
    return value
