"""Issue 13, item 3: the sessions service's SMTP server offers STARTTLS when given a certificate
(and refuses mail in the clear when told to), talked to with smtplib over TCP."""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

import pytest

from omni.devstack.processes import free_port
from omni.runtime.config import ConfigError, ServiceSettings
from omni.sessions.service import SPEC as SESSIONS
from omni.sessions.settings import SessionSettings
from omni.sessions.smtp_inbound import starttls_context
from tests.conftest import StartService
from tests.security.certificates import ServerCertificate, issue


def mail() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "customer@example.net"
    message["To"] = "support@example.com"
    message["Subject"] = "my parcel"
    message.set_content("It has not arrived.")
    return message


async def smtp_port(start_service: StartService, settings: ServiceSettings, certificate: ServerCertificate | None,
                    *, require: bool = False) -> int:
    port = free_port()
    tls = {"smtp_tls_cert_file": str(certificate.cert_file), "smtp_tls_key_file": str(certificate.key_file)} \
        if certificate else {}
    own = SessionSettings(**{f.name: getattr(settings, f.name) for f in dataclasses.fields(ServiceSettings)},
                          smtp_listen=f"127.0.0.1:{port}", smtp_require_starttls=require, **tls)
    await start_service(SESSIONS, settings_override=own)
    return port


def send_over_starttls(port: int, ca_file: Path) -> tuple[bool, str, str]:
    """(STARTTLS offered, the TLS version used, the server's answer to the mail)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("sender.example.net")
        offered = client.has_extn("starttls")
        client.starttls(context=ssl.create_default_context(cafile=str(ca_file)))
        version = client.sock.version() if isinstance(client.sock, ssl.SSLSocket) else ""
        client.ehlo("sender.example.net")
        client.mail("customer@example.net")
        client.rcpt("support@example.com")
        code, answer = client.data(mail().as_bytes())
        assert code == 250, answer
        return offered, str(version), answer.decode()


async def test_smtp_offers_starttls_with_a_certificate_and_takes_mail_over_it(
        start_service: StartService, settings: ServiceSettings, tmp_path: Path) -> None:
    issued = issue(tmp_path)
    port = await smtp_port(start_service, settings, issued)
    offered, version, answer = await asyncio.to_thread(send_over_starttls, port, issued.ca_file)
    assert offered
    assert version.startswith("TLSv1.")
    assert "accepted as session" in answer


def extensions(port: int) -> set[str]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("sender.example.net")
        return set(client.esmtp_features)


async def test_smtp_without_a_certificate_offers_no_starttls(
        start_service: StartService, settings: ServiceSettings) -> None:
    port = await smtp_port(start_service, settings, None)
    features = await asyncio.to_thread(extensions, port)
    assert "size" in features
    assert "starttls" not in features


def mail_in_the_clear(port: int) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("sender.example.net")
        return client.mail("customer@example.net")


async def test_required_starttls_refuses_mail_in_the_clear(
        start_service: StartService, settings: ServiceSettings, tmp_path: Path) -> None:
    port = await smtp_port(start_service, settings, issue(tmp_path), require=True)
    code, answer = await asyncio.to_thread(mail_in_the_clear, port)
    assert code == 530, answer


def test_required_starttls_without_a_certificate_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="OMNI_SMTP_REQUIRE_STARTTLS"):
        starttls_context("", "", require=True)
