"""Customer and ticket numbers (`C-1001`, `T-1001`) for batches of interactions, without a shared
document in their transactions.

A batch that took its numbers from the counter inside its transaction wrote the one document
every other batch writes too: two batches of different customers at once (or two replicas)
conflicted on it nearly every time, and a conflict costs the whole batch. So numbers are reserved
in blocks by an atomic increment outside any transaction (never rolled back, so never issued
twice) and handed out from this process's pool; a batch that does not commit gives its numbers
back for the next one. Numbers stay unique; they are not gapless (a replica that stops skips what
it still held) nor strictly in creation order across replicas.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Awaitable, Callable, Iterable

# Numbers reserved at a time: one round trip per this many new customers or tickets, and at most
# this many skipped when a replica stops.
BLOCK = 16
# Reserves `count` numbers of `counter` and returns the last of them (the repository's atomic increment).
Reserve = Callable[[str, int], Awaitable[int]]


class NumberPool:
    def __init__(self, reserve: Reserve, block: int = BLOCK) -> None:
        if block < 1:
            raise ValueError("a block holds at least one number")
        self._reserve = reserve
        self._block = block
        self._free: dict[str, list[int]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def take(self, counter: str) -> int:
        """The lowest number this process holds for `counter`, reserving a block when none is left."""
        free = self._free.setdefault(counter, [])
        if not free:
            async with self._locks.setdefault(counter, asyncio.Lock()):
                if not free:  # another batch may have reserved one while this one waited
                    last = await self._reserve(counter, self._block)
                    for number in range(last - self._block + 1, last + 1):
                        heapq.heappush(free, number)
        return heapq.heappop(free)

    def give_back(self, counter: str, numbers: Iterable[int]) -> None:
        """Numbers taken by a batch that did not commit: issued to nobody, so the next batch's."""
        free = self._free.setdefault(counter, [])
        for number in numbers:
            heapq.heappush(free, number)
