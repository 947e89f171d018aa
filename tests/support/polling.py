"""One way for a test to wait for something that happens in the background.

Nothing here asserts that something did *not* happen: waiting a while and finding nothing only
shows the system was slow. To show an absence, cause a later effect that must come after it
(the same consumer, the same publisher), wait for that, then look.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

# Generous: a poll returns as soon as its condition holds, so only a failing test waits this long,
# and the suite shares two cores with other work.
WITHIN = 20.0


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], object] = bool,
    *,
    what: str,
    within: float = WITHIN,
    interval: float = 0.05,
    ignoring: tuple[type[Exception], ...] = (),
) -> T:
    """Call `probe` until `until(value)` holds (by default: until the value is truthy) and return
    that value.

    Fails after `within` seconds with an AssertionError naming `what` was awaited and the last
    value seen. Exceptions of the `ignoring` types count as "not yet" (e.g. NOT_FOUND before a
    consumer has created the record) and are shown as the last value if nothing else came.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last: Any = "nothing (the probe never returned)"
    while True:
        try:
            value = await probe()
        except ignoring as exc:
            last = exc
        else:
            if until(value):
                return value
            last = value
        if loop.time() >= deadline:
            raise AssertionError(f"waited {within:g} s for {what}; last seen: {_shown(last)}")
        await asyncio.sleep(interval)


def _shown(value: object, limit: int = 2000) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]} … ({len(text) - limit} more characters)"


__all__ = ["WITHIN", "eventually"]
