"""The bot worker's choice per message: answer from the knowledge base or hand to a person."""

from __future__ import annotations

import pytest

from omni.worker.answering import Answer, Candidate, Handoff, respond

REFUND = Candidate("KB-7", "How refunds work", "Refunds reach your card within 5 working days.", 3.2)
WEAK = Candidate("KB-9", "Opening hours", "We are open 9-18.", 0.4)


@pytest.mark.parametrize("text", ["I want to talk to a human", "Can I speak to someone please", "AGENT",
                                  "转人工", "我要人工客服"])
def test_customer_asking_for_a_person_is_handed_over_even_with_a_good_article(text: str) -> None:
    assert respond(text, [REFUND], min_score=1.0) == Handoff("customer asked for a person")


def test_confident_match_is_answered_with_the_article() -> None:
    outcome = respond("when do I get my refund", [WEAK, REFUND], min_score=1.0)
    assert isinstance(outcome, Answer)
    assert outcome.article_id == "KB-7"
    assert "5 working days" in outcome.text and "agent" in outcome.text


@pytest.mark.parametrize(("candidates", "reason"), [
    ([], "no knowledge-base article matches"),
    ([WEAK], "best knowledge-base match 'Opening hours' scored 0.40 (< 1.00)"),
])
def test_no_confident_answer_hands_over_with_the_reason(candidates: list[Candidate], reason: str) -> None:
    assert respond("my parcel is lost", candidates, min_score=1.0) == Handoff(reason)


def test_long_articles_are_cut_at_a_word() -> None:
    long = Candidate("KB-1", "Long", "word " * 1000, 5.0)
    outcome = respond("question", [long], min_score=1.0, max_chars=100)
    assert isinstance(outcome, Answer) and outcome.text.count("word") <= 21 and "…" in outcome.text
