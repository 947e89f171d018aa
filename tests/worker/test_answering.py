"""The bot's wording and hand-over reasons (pure)."""

from __future__ import annotations

import pytest

from omni.worker.answering import Answer, Candidate, Handoff, handoff_note, respond

REFUND = Candidate("KB-7", "How refunds work", "Refunds reach your card within 5 working days.", 3.2)


def test_a_knowledge_base_that_cannot_be_searched_is_named_as_the_reason_unless_a_person_was_asked_for() -> None:
    assert respond("when is my refund", [], min_score=1.0, search_error="UNAVAILABLE") == Handoff(
        "the knowledge base could not be searched (UNAVAILABLE)")
    assert respond("agent please", [], min_score=1.0, search_error="UNAVAILABLE") == Handoff(
        "customer asked for a person")


def test_the_answer_does_not_invite_a_reply_into_a_conversation_that_ends_with_it() -> None:
    outcome = respond("when is my refund", [REFUND], min_score=1.0)
    assert isinstance(outcome, Answer) and "Start a new chat" in outcome.text and "Reply" not in outcome.text


@pytest.mark.parametrize(("language", "start"), [("zh-CN", "正在为您转接"), ("zh", "正在为您转接"),
                                                 ("en-GB", "I'm passing"), ("fr", "I'm passing"), ("", "I'm passing")])
def test_the_handoff_note_is_in_the_customers_language_or_english(language: str, start: str) -> None:
    assert handoff_note(language).startswith(start)
