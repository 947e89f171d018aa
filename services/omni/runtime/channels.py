"""The contact channels every service speaks of; one enum, so "phone" means the same everywhere."""

from __future__ import annotations

import enum


class Channel(enum.StrEnum):
    PHONE = "phone"
    CHAT = "chat"
    EMAIL = "email"
    SMS = "sms"
