"""Identity tokens checked without a server: claims, phone normalisation, the key's length."""

from __future__ import annotations

import jwt
import pytest

from omni.runtime.errors import Unauthenticated
from omni.sessions.domain.chat_identity import IdentityVerifier, mint_identity_token
from omni.sessions.domain.model import Identity

KEY = "website-signing-key-0123456789abcdef"


def test_a_valid_token_gives_email_phone_in_e164_and_name() -> None:
    token = mint_identity_token(KEY, email=" Li.Na@Example.com ", phone="138 0013 8000", name="Li Na")
    visitor = IdentityVerifier(KEY, "CN").verify(token)
    assert visitor.identities == [Identity("email", "Li.Na@Example.com"), Identity("phone", "+8613800138000")]
    assert visitor.name == "Li Na"


def test_a_deployment_without_a_key_refuses_every_token_and_a_short_key_does_not_start() -> None:
    with pytest.raises(Unauthenticated, match="no identity key"):
        IdentityVerifier("", "CN").verify(mint_identity_token(KEY, email="a@b.cn"))
    with pytest.raises(ValueError, match="OMNI_CHAT_IDENTITY_SECRET"):
        IdentityVerifier("short", "CN")


def test_claims_that_are_not_strings_are_refused() -> None:
    token = jwt.encode({"email": ["a@b.cn"], "exp": 2**40}, KEY, algorithm="HS256")
    with pytest.raises(Unauthenticated, match="'email' must be a string"):
        IdentityVerifier(KEY, "CN").verify(token)
