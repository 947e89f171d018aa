"""CSRF tokens bound to the desk cookie (the signed double-submit pattern).

The agent's bearer token lives in an httpOnly cookie the page cannot read, so a browser sends it
on any request to the gateway, including one a hostile page makes it send. A state-changing call
must therefore also carry a header only the desk's own script can know: an HMAC of the cookie's
token under a key derived from the platform secret. No server-side state, every replica agrees,
and a CSRF token is worthless without the cookie it was issued for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from omni.runtime.errors import PermissionDenied

# A token is 43 characters; anything much longer is not one of ours.
MAX_TOKEN_CHARS = 128


class CsrfGuard:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the CSRF key must be at least 32 bytes")
        self._key = key

    @classmethod
    def derived_from(cls, secret: str) -> CsrfGuard:
        """A key of its own, so a CSRF token can never serve as anything else the secret signs."""
        return cls(hmac.new(secret.encode(), b"omni.web csrf v1", hashlib.sha256).digest())

    def token_for(self, credential: str) -> str:
        digest = hmac.new(self._key, credential.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def check(self, credential: str, presented: str | None) -> None:
        if not presented:
            raise PermissionDenied("this call needs the X-CSRF-Token header the desk got at sign-in; reload the desk")
        if len(presented) > MAX_TOKEN_CHARS or not hmac.compare_digest(self.token_for(credential), presented):
            raise PermissionDenied("the X-CSRF-Token does not belong to this sign-in; reload the desk")
