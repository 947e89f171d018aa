"""Settings of the sessions service (OMNI_* environment variables)."""

from __future__ import annotations

import dataclasses

from omni.runtime.config import ServiceSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionSettings(ServiceSettings):
    # Tickets service: a caller's accessibility needs from their customer tags while the call
    # starts, within `caller_lookup_timeout` seconds (then the standard menus); empty: not asked.
    tickets_addr: str = ""
    caller_lookup_timeout: float = 0.5
    # host:port of the inbound SMTP server; empty: no SMTP listener.
    smtp_listen: str = ""
    # Domains we accept mail for; mail to any other domain is refused (we are no open relay).
    smtp_accepted_domains: tuple[str, ...] = ("example.com",)
    # Largest inbound message (SMTP SIZE); larger ones are refused with 552.
    smtp_max_message_bytes: int = 10 * 1024 * 1024
    # SMTP connections served at once; one more is answered 421 (try later) and closed.
    smtp_max_sessions: int = 32
    # Processes parsing inbound mail (off the event loop); mails beyond wait for one.
    smtp_parse_workers: int = 2
    # PEM certificate chain and key STARTTLS offers; empty: no STARTTLS. Requiring it refuses mail
    # sent in the clear (RFC 3207 forbids that on a public MX: only for a relay you run).
    smtp_tls_cert_file: str = ""
    smtp_tls_key_file: str = ""
    smtp_require_starttls: bool = False
    # Largest attachment whose content is stored; larger ones keep name, type, size and hash. At
    # most what GetAttachment can return: OMNI_MAX_MESSAGE_BYTES less 64 KiB (checked at start-up).
    attachment_max_bytes: int = 7 * 1024 * 1024
    # HTML mail bodies are cut to this many characters before they are read into text.
    mail_max_html_chars: int = 1_000_000
    # authserv-ids of our own receiving MTA whose Authentication-Results (RFC 8601) are believed;
    # empty: From is never verified (docs/tickets.md, "Sender trust").
    mail_trusted_authserv_ids: tuple[str, ...] = ()
    # What one inbound mail brings into its session (the rest is cut and noted in its defects):
    # body text, the HTML alternative stored (dropped whole when longer), References ids (the root
    # and the newest are kept), To and Cc addresses (also the RCPT TO limit), attachments.
    mail_max_text_chars: int = 100_000
    mail_max_stored_html_chars: int = 200_000
    mail_max_references: int = 50
    mail_max_recipients: int = 100
    mail_max_attachments: int = 50
    # host:port of the relay agent replies go out through.
    smtp_relay: str = "127.0.0.1:25"
    smtp_relay_timeout: float = 30.0
    # From address of agent replies, unless the customer wrote to one of our addresses.
    mail_from: str = "support@example.com"
    # host:port of the operator's SMSC (SMPP 3.4, bound as a transceiver); empty: no SMS channel.
    sms_smsc: str = ""
    # The account at the SMSC (SMPP allows at most 15 and 8 characters); the password from a Secret.
    sms_system_id: str = ""
    sms_password: str = ""
    # Our sender: +E.164, a short code or an alphanumeric name (at most 11 characters on most networks).
    sms_source: str = ""
    # Queue an inbound SMS conversation waits in (unless its text's intent has its own queue).
    sms_queue: str = "chat"
    # The reply to a wait-time SMS that books a callback instead of holding.
    sms_callback_keyword: str = "1"
    # Longest SMS text sent (longer is refused) and kept from an inbound SMS (the rest is cut):
    # 612 characters are four concatenated GSM-7 parts.
    sms_max_chars: int = 612
    # An SMS the SMSC did not answer (down, connection lost, busy) is sent again after this many
    # seconds, at most this many times in all, then marked failed.
    sms_resend_seconds: float = 30.0
    sms_max_attempts: int = 20
    # SMS handed to the link and not yet written to the SMSC; more wait in the outbox.
    sms_send_queue: int = 1000
    # First wait before reconnecting to an SMSC that went away (doubling up to 32 times that).
    sms_reconnect_seconds: float = 1.0
    # Connecting, binding and writing to the SMSC give up after this long.
    sms_socket_timeout: float = 30.0
    # host:port of the WebSocket chat endpoint (path /chat); empty: no WebSocket listener.
    websocket_listen: str = ""
    # The key a caller waiting in a queue presses to be called back instead (docs/outbound.md).
    ivr_callback_digit: str = "1"
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
    # A session keeps its newest messages, at most this many and this many bytes of text, HTML and
    # headers (older ones stay on the ticket); and at most this many internal notes.
    session_max_messages: int = 500
    session_max_transcript_bytes: int = 2 * 1024 * 1024
    session_max_notes: int = 200
    # Open sessions each replica keeps in memory as it last wrote them (transcripts counted), so
    # that a chat message is one write, not a read and a write; 0 keeps none.
    session_cache_bytes: int = 64 * 1024 * 1024
    # A ListSessions page ends early rather than carry more transcript than this (the next page
    # token continues after it), so a page fits a gRPC client's default 4 MiB.
    session_list_max_bytes: int = 3 * 1024 * 1024
    # The outbox relay looks for events left unpublished every this many seconds, and publishes
    # those older than the grace (the writer publishes its own right away).
    outbox_relay_seconds: float = 1.0
    outbox_grace_seconds: float = 5.0
    # Customer chat flood control, per session: messages (a burst, then this many per second),
    # typing and read markers likewise; per client address: every frame, starts and resumes too.
    chat_burst: int = 10
    chat_messages_per_second: float = 1.0
    chat_signal_burst: int = 10
    chat_signals_per_second: float = 2.0
    chat_address_burst: int = 60
    chat_address_frames_per_second: float = 10.0
    # Open chat connections (WebSocket and gRPC): in all, to one session, from one client address.
    chat_max_connections: int = 2000
    chat_max_connections_per_session: int = 4
    chat_max_connections_per_address: int = 20
    # Chats waiting for a person in one queue; a new chat's first message beyond is refused.
    chat_max_waiting_per_queue: int = 200
    # Addresses or networks of the proxies in front of the WebSocket chat (the web gateway, a load
    # balancer, an ingress) whose X-Forwarded-For names the visitor; from anyone else the header is
    # ignored. By default loopback and the private ranges a cluster's pods and balancers use.
    chat_trusted_proxies: tuple[str, ...] = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12",
                                             "192.168.0.0/16", "fc00::/7")
    # How long a chat session token stays valid.
    chat_token_ttl_seconds: int = 24 * 3600
    # Satisfaction surveys after a contact (docs/wrapup-and-reports.md): a customer is asked at
    # most once per this many days, and may answer for this many days after being asked.
    survey_min_interval_days: int = 7
    survey_answer_days: int = 7
    # Where the web gateway serves the survey page (e.g. https://help.example.com); the emailed
    # link is <base>/survey/#<token>. Empty: email contacts get no survey (no link to send).
    survey_link_base: str = ""
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
