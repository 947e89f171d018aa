"""Pure domain: classifier, contact flow, MIME parsing, state machine, reply headers."""

from __future__ import annotations

import datetime as dt

import pytest

from omni.devstack.processes import free_port
from omni.runtime.channels import Channel
from omni.runtime.errors import FailedPrecondition, Unavailable
from omni.sessions.domain.classifier import KeywordClassifier, detect_language
from omni.sessions.domain.flood import KeyedBuckets, TokenBucket, TrustedProxies, client_address
from omni.sessions.domain.identities import match_key
from omni.sessions.domain.ivr import DEFAULT_FLOW, ContactFlowError, parse_flow
from omni.sessions.domain.mime import MailLimits, parse_email
from omni.sessions.domain.model import Direction, Identity, Message, Session, State, TranscriptLimits
from omni.sessions.domain.reply_mail import build_reply, reply_subject
from omni.sessions.smtp_outbound import RelayMailer

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "intent", "language", "urgent", "min_emotion"),
    [
        ("我要投诉", "complaint", "zh", True, 8),
        ("This is URGENT, my internet is not working!!", "technical", "en", True, 5),
        ("宽带断网了", "technical", "zh", False, 0),
        ("I want a refund, this is ridiculous", "refund", "en", False, 2),
        ("hello", "", "en", False, 0),
        ("Where is my parcel? I ordered it last week.", "order_status", "en", False, 0),
        ("我的包裹到哪了", "order_status", "zh", False, 0),
        ("你们几点开门？", "opening_hours", "zh", False, 0),
        ("转人工，我的快递到哪了", "agent_request", "zh", False, 0),  # asking for a person wins
    ],
)
def test_keyword_classifier(text, intent, language, urgent, min_emotion) -> None:
    result = KeywordClassifier().classify(text)
    assert (result.intent, result.language, result.urgent) == (intent, language, urgent)
    assert min_emotion <= result.emotion_score <= 10


def test_language_detection_by_script() -> None:
    assert [detect_language(t) for t in ("こんにちは", "안녕하세요", "你好 ok", "hi", "123")] == [
        "ja", "ko", "zh", "en", ""]


def test_contact_flow_limits_depth_and_reserves_the_agent_key() -> None:
    flow = parse_flow(DEFAULT_FLOW)
    assert flow.press((), "2").prompt.startswith("Internet")
    assert flow.press(("2",), "1").queue == "tech_internet"
    assert flow.press(("2",), "0").queue == "general"  # the human shortcut works at every level
    assert flow.press(("2",), "*").path == ()
    assert flow.press((), "9").invalid
    deep = {"human_queue": "g", "menu": {"prompt": "1", "options": {"1": {"prompt": "2", "options": {
        "1": {"prompt": "3", "options": {"1": {"prompt": "4", "options": {"1": {"queue": "q"}}}}}}}}}}
    with pytest.raises(ContactFlowError, match="at most 3 levels"):
        parse_flow(deep)
    with pytest.raises(ContactFlowError, match="reserved"):
        parse_flow({"human_queue": "g", "menu": {"prompt": "", "options": {"0": {"queue": "q"}}}})
    with pytest.raises(ContactFlowError, match="human_queue"):
        parse_flow({"menu": {"prompt": "", "options": {"1": {"queue": "q"}}}})


def test_state_machine_records_transitions_and_refuses_illegal_moves() -> None:
    session = Session.open(Channel.PHONE, [Identity("phone", "1")], NOW)
    assert session.move(State.QUEUED, NOW, "ivr")
    assert not session.move(State.QUEUED, NOW)
    session.move(State.CONNECTED, NOW)
    with pytest.raises(FailedPrecondition, match="cannot become abandoned"):
        session.move(State.ABANDONED, NOW)
    session.move(State.ENDED, NOW)
    with pytest.raises(FailedPrecondition, match="over"):
        session.move(State.QUEUED, NOW)
    assert [t.state for t in session.transitions] == [State.IVR, State.QUEUED, State.CONNECTED, State.ENDED]
    assert session.mark_applied("e1") and not session.mark_applied("e1")


def test_phone_match_keys_agree_across_formats() -> None:
    keys = {match_key(Identity("phone", v), "CN") for v in ("13800138000", "+86 138 0013 8000", "+8613800138000")}
    assert keys == {"phone:+8613800138000"}
    assert match_key(Identity("email", "Li.Wei+x@Mail.CN"), "CN") == "email:li.wei+x@mail.cn"


def test_oversize_attachment_keeps_metadata_only_and_garbage_does_not_raise() -> None:
    raw = (b"From: a@b.cn\r\nMessage-ID: <m@b>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
           b"Content-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: image/png\r\n"
           b"Content-Disposition: attachment; filename=big.png\r\n\r\n" + b"x" * 500 + b"\r\n--b--\r\n")
    parsed = parse_email(raw, MailLimits(attachment_bytes=100))
    [part] = parsed.attachments
    assert part.truncated and part.size >= 500 and part.content is None
    assert any("limit" in d for d in parsed.facts.defects)
    for garbage in (b"", b"\x00\xff\xfe", b"From: <<<>>>\r\nSubject: =?bogus?q?x?=\r\n\r\n\xff"):
        parse_email(garbage, MailLimits(attachment_bytes=100))


def test_auto_replies_and_bounces_are_flagged() -> None:
    auto = parse_email(b"Auto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\naway",
                       MailLimits(attachment_bytes=10))
    bounce = parse_email(b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\n"
                         b"Content-Type: text/plain\r\n\r\nfailed\r\n--x--\r\n", MailLimits(attachment_bytes=10))
    assert auto.facts.auto_submitted and bounce.facts.delivery_status_report


def test_reply_subject_and_threading_headers() -> None:
    assert reply_subject("RE: Re: 回复: Invoice", "T-9") == "Re: Invoice [#T-9]"
    assert reply_subject("Re: Invoice [#T-9]", "T-9") == "Re: Invoice [#T-9]"
    mail = build_reply(from_address="s@example.com", to_address="c@x.cn", subject="Hi", in_reply_to="<b@x>",
                       references=["<a@x>", "<b@x>"], ticket_id="", text="ok")
    assert (mail["In-Reply-To"], mail["References"], mail["Subject"]) == ("<b@x>", "<a@x> <b@x>", "Re: Hi")


def test_a_retried_reply_is_the_same_message_and_another_reply_is_not() -> None:
    def reply(key: str) -> str:
        return str(build_reply(from_address="s@example.com", to_address="c@x.cn", subject="Hi", in_reply_to="",
                               references=[], ticket_id="T-1", text="ok", reply_key=key)["Message-ID"])

    assert reply("S-1/req-1") == reply("S-1/req-1")
    assert reply("S-1/req-1").endswith("@example.com>")
    assert len({reply("S-1/req-1"), reply("S-1/req-2"), reply("S-2/req-1"), reply(""), reply("")}) == 5


async def test_relay_down_is_unavailable_with_a_clear_message() -> None:
    mailer = RelayMailer(f"127.0.0.1:{free_port()}", timeout=2)
    mail = build_reply(from_address="s@example.com", to_address="c@x.cn", subject="Hi", in_reply_to="",
                       references=[], ticket_id="T-1", text="ok")
    with pytest.raises(Unavailable, match="was not sent, try again"):
        await mailer.send(mail)


def test_chat_flood_control_allows_a_burst_then_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2.0, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    assert bucket.wait_seconds() == pytest.approx(0.5)
    now[0] = 0.5
    assert [bucket.take(), bucket.take()] == [True, False]
    now[0] = 100.0  # idle time refills only up to the burst
    assert sum(bucket.take() for _ in range(10)) == 3


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 10), (1.0, 0)])
def test_chat_flood_control_refuses_settings_that_would_block_every_message(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate > 0 and burst >= 1"):
        TokenBucket(rate, burst)


def test_keyed_buckets_forget_refilled_keys_first_when_full() -> None:
    now = [0.0]
    buckets = KeyedBuckets(rate=1.0, burst=1, max_keys=2, clock=lambda: now[0])
    assert buckets.take("a") == 0 and buckets.take("a") > 0
    now[0] = 10.0  # "a" refilled: forgetting it changes nothing
    assert buckets.take("b") == 0 and buckets.take("c") == 0
    assert buckets.take("c") > 0  # "c" is still remembered as spent


def test_the_client_address_is_believed_from_trusted_proxies_only() -> None:
    gateway = TrustedProxies(("10.0.0.0/8",))
    assert client_address("10.1.2.3", ["198.51.100.7"], gateway) == "198.51.100.7"
    # The nearest hop that is not ours: what a visitor wrote before it is not believed either.
    assert client_address("10.1.2.3", ["6.6.6.6, 198.51.100.7, 10.9.9.9"], gateway) == "198.51.100.7"
    assert client_address("203.0.113.5", ["198.51.100.7"], gateway) == "203.0.113.5"
    assert client_address("10.1.2.3", [], gateway) == "10.1.2.3"


def test_a_session_keeps_its_newest_messages_within_its_limits() -> None:
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    session = Session.open(Channel.EMAIL, [], at)
    keep = TranscriptLimits(max_messages=3, max_bytes=250)
    for n in range(5):
        session.add_message(Message(f"I-{n}", Direction.INBOUND, "c@x.cn", "x" * 100, at), keep)
    # 3 messages fit the count, 2 fit the bytes: the newest two stay, the session counts the rest.
    assert [m.id for m in session.messages] == ["I-3", "I-4"] and session.earlier_messages == 3
    session.add_message(Message("I-big", Direction.INBOUND, "c@x.cn", "y" * 1000, at), keep)
    assert [m.id for m in session.messages] == ["I-big"]  # never the newest


def test_accessible_lines_name_their_callers_needs_and_keep_the_menus_when_told() -> None:
    flow = parse_flow({**DEFAULT_FLOW, "accessible_lines": {"95588-1": ["vision"]}, "accessibility_skips_menu": False})
    assert flow.caller_needs("95588-1", ["elderly", "Vision"]) == ("elderly", "vision")
    assert flow.caller_needs("95588", []) == () and not flow.accessibility_skips_menu
    with pytest.raises(ContactFlowError, match="accessible_lines"):
        parse_flow({**DEFAULT_FLOW, "accessible_lines": {"1": ["x" * 41]}})
