"""The mail rules of sessions' pure domain: charsets, bodies, automated mail, bounces, sender trust."""

from __future__ import annotations

import base64

import pytest

from omni.sessions.domain.charsets import decode_bytes
from omni.sessions.domain.html_text import html_to_text
from omni.sessions.domain.mime import MailLimits, decode_words, parse_email
from omni.sessions.domain.sender_trust import SenderTrust, sender_trust

LIMITS = MailLimits(attachment_bytes=10_000, html_chars=50_000, trusted_authserv_ids=("mx.example.com",))


def mail(headers: str, body: bytes = b"hello") -> bytes:
    return headers.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


def test_gb2312_label_with_gbk_characters_reads_as_gb18030() -> None:
    # 镕 and 𠀀 are outside GB2312: Chinese clients still label such text GB2312.
    text = "朱镕基 的 𠀀 账单"
    word = base64.b64encode(text.encode("gb18030")).decode()
    parsed = parse_email(mail(f"From: a@b.cn\nSubject: =?gb2312?B?{word}?=\nContent-Type: text/plain; charset=gb2312",
                              text.encode("gb18030")), LIMITS)
    assert parsed.facts.subject == text and parsed.text == text and not parsed.facts.defects


def test_iso2022jp_with_nec_characters_and_other_east_asian_labels() -> None:
    assert decode_bytes(b"\x1b$B-!-j\x1b(B \x1b$B$3$s$K$A$O\x1b(B", "ISO-2022-JP").text == "①㈱ こんにちは"
    assert decode_bytes("髙橋".encode("cp932"), "Shift_JIS").text == "髙橋"
    assert decode_bytes("台灣".encode("big5"), "big5").text == "台灣"


def test_one_bad_byte_costs_one_character_not_the_part() -> None:
    decoded = decode_bytes("账单".encode() + b"\xff\xfe" + "退款".encode(), "utf-8")
    assert decoded.text.startswith("账单") and decoded.text.endswith("退款") and decoded.problem


def test_headers_raw_8bit_adjacent_and_malformed_encoded_words() -> None:
    assert decode_words("=?utf-8?q?Rech?= =?utf-8?q?nung?=") == "Rechnung"
    assert decode_words("=?utf-8?B?!!!?= kept") in ("=?utf-8?B?!!!?= kept", "kept")
    raw = "你好".encode("gb18030").decode("ascii", "surrogateescape")
    assert decode_words(raw) == "你好"


@pytest.mark.parametrize("header", ['"Li, Wei" <li@x.cn>', "li@x.cn (Li Wei)", "Li Wei <li@x.cn>"])
def test_display_names_in_every_legal_form(header: str) -> None:
    parsed = parse_email(mail(f"From: {header}\nSubject: s"), LIMITS)
    assert parsed.facts.sender == "li@x.cn" and parsed.sender_name.replace(",", "") == "Li Wei"


def test_invalid_from_is_no_address_and_the_first_of_two_from_wins() -> None:
    assert parse_email(mail("From: Li Wei <not-an-address>\nSubject: s"), LIMITS).facts.sender == ""
    assert parse_email(mail("From: a@x.cn\nFrom: b@y.cn\nSubject: s"), LIMITS).facts.sender == "a@x.cn"


def test_alternative_keeps_the_richer_version_and_mixed_keeps_all_in_order() -> None:
    alternative = mail("From: a@b.cn\nContent-Type: multipart/alternative; boundary=b",
                       b"--b\r\nContent-Type: text/plain\r\n\r\n.\r\n--b\r\nContent-Type: text/html\r\n\r\n"
                       b"<p>The parcel <b>never arrived</b>, please refund order 77.</p>\r\n--b--\r\n")
    assert parse_email(alternative, LIMITS).text == "The parcel never arrived, please refund order 77."
    mixed = mail("From: a@b.cn\nContent-Type: multipart/mixed; boundary=b",
                 b"--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--b\r\nContent-Type: image/png\r\n"
                 b"Content-Disposition: inline\r\n\r\nPNG\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>second</p>\r\n"
                 b"--b\r\nContent-Type: text/plain\r\n\r\nthird\r\n--b--\r\n")
    assert parse_email(mixed, LIMITS).text == "first\n\nsecond\n\nthird"


def test_attached_message_is_an_attachment_and_a_threading_candidate() -> None:
    raw = mail("From: boss@b.cn\nSubject: Fwd: refund\nContent-Type: multipart/mixed; boundary=b",
               b"--b\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
               b"From: li@x.cn\r\nMessage-ID: <orig@x.cn>\r\nSubject: refund\r\n\r\ninner secret words\r\n--b--\r\n")
    parsed = parse_email(raw, LIMITS)
    assert parsed.text == "see below" and "inner" not in parsed.text
    assert parsed.facts.attached_message_ids == ["<orig@x.cn>"]
    assert [a.content_type for a in parsed.attachments] == ["message/rfc822"]


@pytest.mark.parametrize("headers", [
    "Content-Type: multipart/mixed; boundary=XYZ",  # the start boundary never comes
    "Content-Type: multipart/alternative",  # no boundary at all
    "Content-Type: application/octet-stream",  # a text body labelled binary
])
def test_broken_structure_keeps_the_readable_text(headers: str) -> None:
    parsed = parse_email(mail(f"From: a@b.cn\n{headers}", b"my order 123 is late\r\n--XYZ--\r\n"), LIMITS)
    assert parsed.text.startswith("my order 123 is late") and parsed.facts.defects


def test_html_to_text_drops_scripts_keeps_links_and_cuts_before_parsing() -> None:
    text, cut = html_to_text('<style>p{}</style><p>Pay <a href="https://evil.example/x">here</a></p>'
                             "<script>steal()</script>", max_chars=1000)
    assert text == "Pay here [https://evil.example/x]" and not cut
    text, cut = html_to_text("<" * 1_000_000, max_chars=50_000)
    assert cut and len(text) <= 50_000


@pytest.mark.parametrize("headers", [
    "Auto-Submitted: auto-replied", "X-Autoreply: yes", "X-Autorespond: on", "Precedence: bulk",
    "Subject: Automatic reply: your invoice", "Subject: Out of Office: back Monday",
    "Subject: =?utf-8?B?6Ieq5Yqo5Zue5aSNOiDmgqjnmoTpgq7ku7Y=?=",  # 自动回复: 您的邮件
])
def test_auto_replies_are_recognised(headers: str) -> None:
    assert parse_email(mail(f"From: li@x.cn\n{headers}"), LIMITS).facts.automatic


def test_a_person_writing_about_the_office_is_not_an_auto_reply() -> None:
    facts = parse_email(mail("From: li@x.cn\nSubject: My reply about the out of office charge\nAuto-Submitted: no"),
                        LIMITS).facts
    assert not facts.automatic


def test_bounce_names_the_returned_message_its_status_and_diagnostic() -> None:
    raw = mail("From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail Returned to Sender\n"
               "Content-Type: multipart/report; report-type=delivery-status; boundary=r",
               b"--r\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n"
               b"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
               b"Final-Recipient: rfc822; gone@x.cn\r\nAction: failed\r\nStatus: 5.1.1\r\n"
               b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
               b"--r\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: support@example.com\r\n"
               b"Message-ID: <reply-1@example.com>\r\n\r\n--r--\r\n")
    facts = parse_email(raw, LIMITS).facts
    assert facts.delivery_status_report and facts.automatic
    assert (facts.report_message_id, facts.report_status, facts.report_recipient) == \
        ("<reply-1@example.com>", "5.1.1", "gone@x.cn")
    assert "user unknown" in facts.report_diagnostic and facts.thread_ids()[0] == "<reply-1@example.com>"


def test_postmaster_mail_without_a_report_is_still_mail_system_mail() -> None:
    assert parse_email(mail("From: postmaster@x.cn\nSubject: delivery delayed"), LIMITS).facts.automatic


def test_only_a_trusted_authserv_id_decides_sender_trust() -> None:
    trusted = ("mx.example.com",)
    assert sender_trust(["mx.example.com; dmarc=fail header.from=bank.cn"], trusted) is SenderTrust.UNVERIFIED
    assert sender_trust(["mx.example.com; spf=fail; dkim=pass"], trusted) is SenderTrust.UNVERIFIED
    assert sender_trust(["mx.example.com; dmarc=pass; spf=fail"], trusted) is SenderTrust.VERIFIED
    # Written by the sender (another id) or with nothing configured: From is only a claim.
    assert sender_trust(["attacker.example; dmarc=pass"], trusted) is SenderTrust.UNKNOWN
    assert sender_trust(["mx.example.com; dmarc=fail"], ()) is SenderTrust.UNKNOWN
    parsed = parse_email(mail("From: ceo@bank.cn\nAuthentication-Results: mx.example.com; dmarc=fail"), LIMITS)
    assert parsed.facts.sender_trust == "unverified"
