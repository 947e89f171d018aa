"""A cap on the live watches one replica serves (floor and alerts together): each holds a routing
read share, a NATS subscription and a stream; past the cap a new watch is refused, not queued."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from omni.runtime.errors import ResourceExhausted


class WatchSlots:
    def __init__(self, most: int) -> None:
        self._most = most
        self._open = 0

    @contextlib.contextmanager
    def taken(self) -> Iterator[None]:
        if self._open >= self._most:
            raise ResourceExhausted(f"this replica serves {self._most} watches already; try again shortly")
        self._open += 1
        try:
            yield
        finally:
            self._open -= 1
