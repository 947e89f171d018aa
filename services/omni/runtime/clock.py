"""The wall clock as the platform reads it: aware UTC datetimes, so stored and compared instants agree."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
