"""The waiting lines: each queue's waiting work kept in routing order.

Earliest deadline first: deadlines do not move with time (`policy.line_key`), so a line
is a sorted list of keys; each line also keeps the same order per part (channel and primary
language), which the wait estimate counts places in. Work held until a later time (a callback
due later keeps its place) is in its line but counted neither as waiting nor ahead of anyone
until then: it is nobody's wait.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator

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


class Line:
    """One queue's waiting work, kept in routing order, and the same order within each part."""

    def __init__(self) -> None:
        self._keys: list[Key] = []
        self._parts: dict[Part, list[Key]] = {}
        # Per part, the keys of the work held until a later time.
        self._held: dict[Part, list[Key]] = {}

    def add(self, key: Key, part: Part, held: bool = False) -> None:
        bisect.insort(self._keys, key)
        bisect.insort(self._parts.setdefault(part, []), key)
        if held:
            self.hold(key, part)

    def hold(self, key: Key, part: Part) -> None:
        held = self._held.setdefault(part, [])
        index = bisect.bisect_left(held, key)
        if index == len(held) or held[index] != key:
            held.insert(index, key)

    def unhold(self, key: Key, part: Part) -> bool:
        """False when the key was not held."""
        held = self._held.get(part, [])
        index = bisect.bisect_left(held, key)
        if index == len(held) or held[index] != key:
            return False
        del held[index]
        return True

    def remove(self, key: Key, part: Part) -> None:
        self.unhold(key, part)
        for keys in (self._keys, self._parts.get(part, [])):
            index = bisect.bisect_left(keys, key)
            if index < len(keys) and keys[index] == key:
                del keys[index]
        if not self._parts.get(part, True):
            # Only parts with waiting work are kept: a free agent looks at each part's head.
            del self._parts[part]

    def index(self, key: Key) -> int:
        return bisect.bisect_left(self._keys, key)

    def place(self, key: Key, part: Part) -> int:
        """1-based place among the waiting work of `part` (not held)."""
        return bisect.bisect_left(self._parts[part], key) - bisect.bisect_left(self._held.get(part, []), key) + 1

    def parts(self) -> Iterable[tuple[Part, list[Key]]]:
        """Each part with waiting work, and its keys in routing order."""
        return self._parts.items()

    def waiting(self, part: Part) -> int:
        """Work of `part` waiting and not held."""
        return len(self._parts.get(part, ())) - len(self._held.get(part, ()))

    def __iter__(self) -> Iterator[str]:
        return (key[2] for key in self._keys)

    def __len__(self) -> int:
        return len(self._keys)


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

    def leave(self, work: Work) -> Part | None:
        """Take `work` out of its line; its part, or None when it was not in line."""
        key = self._keys.pop(work.id, None)
        if key is None:
            return None
        part = part_of(work)
        self._lines[work.queue_id].remove(key, part)
        return part

    def index(self, work: Work) -> int:
        """0-based place in the queue's whole line."""
        return self._lines[work.queue_id].index(self._keys[work.id])

    def place(self, work: Work) -> int:
        """1-based place among the waiting work of the same part."""
        return self._lines[work.queue_id].place(self._keys[work.id], part_of(work))
