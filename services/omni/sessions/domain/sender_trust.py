"""Whether the From address of an inbound mail was verified (RFC 8601 Authentication-Results).

Only a header written by our own receiving MTA counts: its authserv-id must be one of the
configured trusted ids (OMNI_MAIL_TRUSTED_AUTHSERV_IDS). Anyone can write such a header into
the mail they send, so one with another id is ignored. A trusted header saying DMARC, SPF or
DKIM failed makes the sender UNVERIFIED: the agent is told and tickets links no identity.
Without a trusted header the sender is UNKNOWN (docs/tickets.md, "Sender trust").
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

_METHOD_RESULT = re.compile(r"\b(dmarc|spf|dkim)\s*=\s*([a-z]+)", re.IGNORECASE)
_FAILED = {"fail", "softfail", "permerror", "quarantine", "reject"}


class SenderTrust(enum.StrEnum):
    # No trusted Authentication-Results header: From is only a claim.
    UNKNOWN = ""
    VERIFIED = "verified"
    UNVERIFIED = "unverified"


def sender_trust(headers: Iterable[str], trusted_ids: Iterable[str]) -> SenderTrust:
    """The verdict of the first `Authentication-Results` header written by a trusted authserv-id."""
    trusted = {t.strip().casefold() for t in trusted_ids if t.strip()}
    if not trusted:
        return SenderTrust.UNKNOWN
    for header in headers:
        authserv_id = header.split(";", 1)[0].split()[0].casefold() if header.strip() else ""
        if authserv_id not in trusted:
            continue
        results = {method.lower(): result.lower() for method, result in _METHOD_RESULT.findall(header)}
        # DMARC decides when present (SPF fails on every forward; DMARC allows for that).
        if "dmarc" in results:
            return SenderTrust.VERIFIED if results["dmarc"] == "pass" else (
                SenderTrust.UNVERIFIED if results["dmarc"] in _FAILED else SenderTrust.UNKNOWN)
        if any(result in _FAILED for result in results.values()):
            return SenderTrust.UNVERIFIED
        if results.get("spf") == "pass" and results.get("dkim") == "pass":
            return SenderTrust.VERIFIED
        return SenderTrust.UNKNOWN
    return SenderTrust.UNKNOWN
