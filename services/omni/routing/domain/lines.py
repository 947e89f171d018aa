"""The waiting lines: each queue's waiting work kept in routing order.

Earliest deadline first: deadlines do not move with time (`policy.line_key`), so a line is
sorted keys, kept per part (channel and primary language): what a free agent looks at (the
head of each part they may take) and what the wait estimate counts places in. Each part is a
`SortedList`, so joining, leaving and finding one's place cost O(log n) in the waiting count
(a plain sorted list moves every later key on each insert and removal). Work held until a later
time (a callback due later keeps its place) is in its line but counted neither as waiting nor
ahead of anyone until then: it is nobody's wait.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from sortedcontainers import SortedList

from omni.routing.domain import policy
from omni.routing.domain.agents import primary_language
from omni.routing.domain.work import Work
from omni.runtime.channels import Channel

Key = tuple[float, int, str]
# A channel and (primary) language of a queue's line: the work the same agents would take.
Part = tuple[Channel, str]


def part_of(work: Work) -> Part:
    return (work.channel, primary_language(work.language))


def line_key(work: Work) -> Key:
    first, seq = policy.line_key(work)
    return (first, seq, work.id)


class Waiting:
    """The waiting work of one part of a line: its keys in routing order, the first of them (read
    for every free agent; kept here, as the sorted list takes longer to say it), and the keys of
    the work held until a later time."""

    __slots__ = ("head", "held", "keys")

    def __init__(self, key: Key) -> None:
        self.head = key
        self.keys: SortedList[Key] = SortedList((key,))
        self.held: SortedList[Key] = SortedList()


class Line:
    """One queue's waiting work in routing order, kept per part (a queue has a few parts)."""

    def __init__(self) -> None:
        self._parts: dict[Part, Waiting] = {}

    def add(self, key: Key, part: Part, held: bool = False) -> None:
        waiting = self._parts.get(part)
        if waiting is None:
            self._parts[part] = Waiting(key)
        else:
            waiting.keys.add(key)
            if key < waiting.head:
                waiting.head = key
        if held:
            self.hold(key, part)

    def hold(self, key: Key, part: Part) -> None:
        waiting = self._parts.get(part)
        if waiting is not None and key not in waiting.held:
            waiting.held.add(key)

    def unhold(self, key: Key, part: Part) -> bool:
        """False when the key was not held."""
        waiting = self._parts.get(part)
        if waiting is None or key not in waiting.held:
            return False
        waiting.held.remove(key)
        return True

    def remove(self, key: Key, part: Part) -> int:
        """Take `key` out of `part`; how many of the part still wait (not held)."""
        waiting = self._parts.get(part)
        if waiting is None:
            return 0
        waiting.held.discard(key)
        keys = waiting.keys
        keys.discard(key)
        if not keys:
            # Only parts with waiting work are kept: a free agent looks at each part's head.
            del self._parts[part]
            return 0
        if key == waiting.head:
            waiting.head = keys[0]
        return len(keys) - len(waiting.held)

    def index(self, key: Key) -> int:
        """0-based place in the whole line: the keys before it in every part."""
        return sum(waiting.keys.bisect_left(key) for waiting in self._parts.values())

    def place(self, key: Key, part: Part) -> int:
        """1-based place among the waiting work of `part` (not held)."""
        waiting = self._parts[part]
        return waiting.keys.bisect_left(key) - waiting.held.bisect_left(key) + 1

    def parts(self) -> Iterable[tuple[Part, Waiting]]:
        """Each part with waiting work, and its waiting work."""
        return self._parts.items()

    def waiting(self, part: Part) -> int:
        """Work of `part` waiting and not held."""
        waiting = self._parts.get(part)
        return len(waiting.keys) - len(waiting.held) if waiting is not None else 0

    def __iter__(self) -> Iterator[str]:
        return (key[2] for key in heapq.merge(*(waiting.keys for waiting in self._parts.values())))

    def __len__(self) -> int:
        return sum(len(waiting.keys) for waiting in self._parts.values())


class Lines:
    """Every queue's line, and where each waiting work item stands in it."""

    def __init__(self) -> None:
        self._lines: dict[str, Line] = {}
        self._keys: dict[str, Key] = {}

    def add_queue(self, queue_id: str) -> None:
        self._lines.setdefault(queue_id, Line())

    def of(self, queue_id: str) -> Line:
        return self._lines[queue_id]

    def enter(self, work: Work, now: float) -> Part | None:
        """Put `work` in its queue's line (held while its `not_before` is ahead); its part when it
        waits and nobody of that part waited before, else None."""
        part = part_of(work)
        line = self._lines[work.queue_id]
        held = work.not_before > now
        opened = not held and not line.waiting(part)
        key = self._keys[work.id] = line_key(work)
        line.add(key, part, held)
        return part if opened else None

    def hold(self, work: Work) -> None:
        """`work`, in line, is held until its `not_before`."""
        self._lines[work.queue_id].hold(self._keys[work.id], part_of(work))

    def unhold(self, work: Work) -> Part | None:
        """`work`'s hold ended: its part when nobody of it waited before, else None."""
        key = self._keys.get(work.id)
        if key is None:
            return None
        part = part_of(work)
        line = self._lines[work.queue_id]
        opened = not line.waiting(part)
        return part if line.unhold(key, part) and opened else None

    def leave(self, work: Work) -> tuple[Part, int] | None:
        """Take `work` out of its line; its part and how many of it still wait, or None when it
        was not in line."""
        key = self._keys.pop(work.id, None)
        if key is None:
            return None
        part = part_of(work)
        return part, self._lines[work.queue_id].remove(key, part)

    def index(self, work: Work) -> int:
        """0-based place in the queue's whole line."""
        return self._lines[work.queue_id].index(self._keys[work.id])

    def place(self, work: Work) -> int:
        """1-based place among the waiting work of the same part."""
        return self._lines[work.queue_id].place(self._keys[work.id], part_of(work))
