"""Settings of the sessions service (OMNI_* environment variables)."""

from __future__ import annotations

import dataclasses

from omni.runtime.config import ServiceSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionSettings(ServiceSettings):
    # host:port of the inbound SMTP server; empty: no SMTP listener.
    smtp_listen: str = ""
    # Domains we accept mail for; mail to any other domain is refused (we are no open relay).
    smtp_accepted_domains: tuple[str, ...] = ("example.com",)
    # Largest inbound message (SMTP SIZE); larger ones are refused with 552.
    smtp_max_message_bytes: int = 25 * 1024 * 1024
    # PEM certificate chain and key STARTTLS offers; empty: no STARTTLS. Requiring it refuses mail
    # sent in the clear (RFC 3207 forbids that on a public MX: only for a relay you run).
    smtp_tls_cert_file: str = ""
    smtp_tls_key_file: str = ""
    smtp_require_starttls: bool = False
    # Largest attachment whose content is stored; larger ones keep name, type, size and hash.
    attachment_max_bytes: int = 10 * 1024 * 1024
    # HTML mail bodies are cut to this many characters before they are read into text.
    mail_max_html_chars: int = 1_000_000
    # authserv-ids of our own receiving MTA whose Authentication-Results (RFC 8601) are believed;
    # empty: From is never verified (docs/tickets.md, "Sender trust").
    mail_trusted_authserv_ids: tuple[str, ...] = ()
    # host:port of the relay agent replies go out through.
    smtp_relay: str = "127.0.0.1:25"
    smtp_relay_timeout: float = 30.0
    # From address of agent replies, unless the customer wrote to one of our addresses.
    mail_from: str = "support@example.com"
    # host:port of the WebSocket chat endpoint (path /chat); empty: no WebSocket listener.
    websocket_listen: str = ""
    # JSON file with the IVR menu and intent rules; empty: the built-in flow.
    contact_flow_file: str = ""
    # "package.module:factory" of another classifier; empty: the offline keyword classifier.
    classifier: str = ""
    # Region for phone numbers given without a country code.
    default_region: str = "CN"
    # A new session links to the customer's previous one if it started within this window.
    link_window_hours: float = 72.0
    # Longest chat message / agent reply accepted.
    max_text_chars: int = 8000
    # Customer chat flood control per connection: a burst, then this many messages per second.
    chat_burst: int = 10
    chat_messages_per_second: float = 1.0
    # How long a chat session token stays valid.
    chat_token_ttl_seconds: int = 24 * 3600
    # PEM private keys (Ed25519 or RSA) sessions signs chat session tokens with, from a Secret: the
    # first signs, all are published at /.well-known/jwks.json of the WebSocket listener (where
    # routing and knowledge read them). Empty: no chat can start.
    chat_token_key_files: tuple[str, ...] = ()
    # HS256 key (>= 32 characters) the company's website signs chat identity tokens with; empty:
    # no verified identities, every chat visitor is anonymous. From a Secret.
    chat_identity_secret: str = ""
    # Treat identities typed into the chat start frame as verified (the unsafe pre-verification
    # behaviour), only for deployments where the chat is reachable by signed-in users alone.
    chat_trust_claimed_identities: bool = False
