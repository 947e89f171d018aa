"""The bot's choices (pure): answer from the knowledge base or hand to a person, its wording, and
on chat what it does with the customer's reply to an answer."""

from __future__ import annotations

import pytest

from omni.runtime.channels import Channel
from omni.worker.domain.answering import (
    Answer,
    Candidate,
    Ended,
    Handoff,
    Heard,
    OutOfTime,
    Question,
    Resolved,
    ShuttingDown,
    Silence,
    Unwatchable,
    after_answer,
    before_search,
    handoff_note,
    outside_skills,
    respond,
)

REFUND = Candidate("KB-7", "How refunds work", "Refunds reach your card within 5 working days.", 3.2)
WEAK = Candidate("KB-9", "Opening hours", "We are open 9-18.", 0.4)


@pytest.mark.parametrize("text", ["I want to talk to a human", "Can I speak to someone please", "AGENT",
                                  "转人工", "我要人工客服"])
def test_customer_asking_for_a_person_is_handed_over_even_with_a_good_article(text: str) -> None:
    assert respond(text, [REFUND], min_score=1.0) == Handoff("customer asked for a person")


@pytest.mark.parametrize("text", ["The bot's answer didn't help, my refund is missing", "退款的回答没用"])
def test_customer_saying_self_service_did_not_help_is_handed_over(text: str) -> None:
    """An email reply to the bot's answer comes back as new work: it must not get the same article."""
    assert respond(text, [REFUND], min_score=1.0) == Handoff("customer says self-service did not help")


def test_a_confident_match_is_answered_with_the_article_and_a_question_inviting_the_reply() -> None:
    outcome = respond("when do I get my refund", [WEAK, REFUND], min_score=1.0)
    assert isinstance(outcome, Answer) and outcome.article_id == "KB-7"
    assert outcome.text.startswith("How refunds work\n\nRefunds reach your card within 5 working days.")
    assert outcome.text.endswith("Did this answer your question? Reply 'agent' to talk to a person.")


@pytest.mark.parametrize(("language", "by_email", "end"), [
    ("zh-CN", False, "回复“人工”可转接人工客服。"),
    ("zh", True, "请直接回复此邮件，告诉我们您还需要什么帮助。"),
    ("en", True, "If not, reply to this email and tell us what you still need."),
    ("fr", False, "Reply 'agent' to talk to a person."),
])
def test_the_invitation_to_reply_fits_the_channel_and_the_customers_language(language: str, by_email: bool,
                                                                            end: str) -> None:
    outcome = respond("refund", [REFUND], min_score=1.0, language=language, by_email=by_email)
    assert isinstance(outcome, Answer) and outcome.text.endswith(end)


def test_an_email_answer_quoted_back_in_a_reply_does_not_read_as_asking_for_a_person() -> None:
    answer = respond("refund", [REFUND], min_score=1.0, by_email=True)
    assert isinstance(answer, Answer)
    quoted = "Re: refund\n\nAnd for a gift card?\n\n> " + answer.text.replace("\n", "\n> ")
    assert respond(quoted, [REFUND], min_score=1.0, by_email=True) == answer


@pytest.mark.parametrize(("candidates", "reason"), [
    ([], "no knowledge-base article matches"),
    ([WEAK], "best knowledge-base match 'Opening hours' scored 0.40 (< 1.00)"),
])
def test_no_confident_answer_hands_over_with_the_reason(candidates: list[Candidate], reason: str) -> None:
    assert respond("my parcel is lost", candidates, min_score=1.0) == Handoff(reason)


def test_a_knowledge_base_that_cannot_be_searched_is_named_as_the_reason_unless_a_person_was_asked_for() -> None:
    assert respond("when is my refund", [], min_score=1.0, search_error="UNAVAILABLE") == Handoff(
        "the knowledge base could not be searched (UNAVAILABLE)")
    assert respond("agent please", [], min_score=1.0, search_error="UNAVAILABLE") == Handoff(
        "customer asked for a person")


def test_long_articles_are_cut_at_a_word() -> None:
    long = Candidate("KB-1", "Long", "word " * 1000, 5.0)
    outcome = respond("question", [long], min_score=1.0, max_chars=100)
    assert isinstance(outcome, Answer) and outcome.text.count("word") <= 21 and "…" in outcome.text


@pytest.mark.parametrize("language", ["", "en-GB", "fr"])
def test_the_handoff_note_is_in_english_unless_the_customer_writes_chinese(language: str) -> None:
    assert handoff_note(language).startswith("I'm passing")
    assert handoff_note("zh-CN") == handoff_note("zh") == "正在为您转接人工客服，请不要离开对话。"


def next_step(heard: Heard, answers: int = 1) -> Resolved | Handoff | Question:
    return after_answer(heard, article_id="KB-7", answers=answers, max_answers=3)


@pytest.mark.parametrize("reply", ["thanks!", "Thank you, that solved it", "ok great", "yes", "got it",
                                   "谢谢", "好的，明白了", "嗯", "No problem, thanks!", "No worries, thank you",
                                   "没问题，谢谢"])
def test_thanks_or_yes_after_an_answer_resolves_the_chat(reply: str) -> None:
    assert next_step(reply) == Resolved("customer confirmed article KB-7 helped")


@pytest.mark.parametrize(("reply", "reason"), [
    ("that didn't help, I want an agent", "customer said article KB-7 did not help and asked for a person"),
    ("No", "customer said article KB-7 did not help"),
    ("not really", "customer said article KB-7 did not help"),
    ("This does not answer my question", "customer said article KB-7 did not help"),
    ("没用", "customer said article KB-7 did not help"),
    ("agent", "customer asked for a person"),
    ("转人工", "customer asked for a person"),
])
def test_a_reply_saying_it_did_not_help_or_asking_for_a_person_hands_over_saying_which(reply: str,
                                                                                      reason: str) -> None:
    assert next_step(reply) == Handoff(reason)


@pytest.mark.parametrize("reply", ["Thanks! And how long does the refund take?", "ok, can I also get an invoice",
                                   "where is my parcel", "谢谢，运费怎么算",
                                   # Thanks that go on are not the end of the matter: searched again.
                                   "Thanks but my parcel is still missing", "ok, but it still has not arrived",
                                   "谢谢，但是还没收到"])
def test_another_question_is_searched_again_even_after_thanks(reply: str) -> None:
    assert next_step(reply) == Question(reply)


def test_after_the_last_allowed_answer_a_further_question_goes_to_a_person() -> None:
    assert next_step("and the fees?", answers=2) == Question("and the fees?")
    assert next_step("and the fees?", answers=3) == Handoff("customer asked more after 3 bot answers")
    assert next_step("thanks", answers=3) == Resolved("customer confirmed article KB-7 helped")


@pytest.mark.parametrize(("heard", "outcome"), [
    (Silence(90), Resolved("answered with article KB-7; no reply within 90 s")),
    (Ended(), Resolved("answered with article KB-7; the customer left the chat")),
    (OutOfTime(), Handoff("the chat went on longer than the bot keeps one; a person takes over")),
    (ShuttingDown(), Handoff("the bot worker is shutting down")),
    (Unwatchable("UNAVAILABLE"), Handoff("the bot cannot see the customer's replies (WatchSession UNAVAILABLE)")),
])
def test_silence_or_leaving_resolves_and_losing_sight_of_the_chat_hands_over(heard: Heard,
                                                                            outcome: Resolved | Handoff) -> None:
    assert next_step(heard) == outcome


def test_a_pool_with_skills_answers_only_those_intents() -> None:
    assert outside_skills("refund", ()) is None
    assert outside_skills("refund", ("billing", "refund")) is None
    assert outside_skills("order_status", ("billing", "refund")) == Handoff(
        "this bot pool answers billing, refund, not order_status questions")
    assert outside_skills("", ("refund",)) == Handoff("this bot pool answers refund, not unclassified questions")


def test_callers_skills_outside_the_pool_and_requests_for_a_person_go_to_a_person_without_a_search() -> None:
    def decided(text: str, channel: Channel | None, intent: str = "refund") -> Handoff | None:
        return before_search(text, channel=channel, intent=intent, skills=("refund",))

    assert decided("How do I get a refund?", Channel.CHAT) is None
    assert decided("How do I get a refund?", None) is None
    assert decided("How do I get a refund?", Channel.PHONE) == Handoff(
        "the bot answers in writing only; a caller needs a person")
    assert decided("refund?", Channel.EMAIL, "order_status") == Handoff(
        "this bot pool answers refund, not order_status questions")
    assert decided("转人工", Channel.CHAT) == Handoff("customer asked for a person")
    assert decided("  ", Channel.CHAT) == Handoff("no question to answer")
