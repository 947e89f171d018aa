"""Rolling queue statistics: what happened in the last window, computed on demand."""

from __future__ import annotations

import collections
import dataclasses
import enum

# Records older than this are dropped; "per day" is a 24-hour window.
RETENTION_SECONDS = 24 * 3600.0


class Kind(enum.Enum):
    ARRIVED = 1
    OFFERED = 2
    ANSWERED = 3  # value: seconds waited
    ABANDONED = 4  # value: seconds waited
    COMPLETED = 5  # value: handle seconds
    TRANSFERRED = 6
    OVERFLOWED = 7


@dataclasses.dataclass(frozen=True)
class Snapshot:
    window: float
    offered: int
    answered: int
    abandoned: int
    answered_in_target: int
    service_level: float
    average_speed_of_answer: float
    average_handle_time: float
    transfers: int
    arrival_rate: float
    overflowed: int
    handled_seconds: float


class QueueStatistics:
    def __init__(self) -> None:
        self._records: collections.deque[tuple[float, Kind, float]] = collections.deque()

    def record(self, at: float, kind: Kind, value: float = 0.0) -> None:
        records = self._records
        # Restored history can arrive out of order; keep the deque sorted by time.
        if records and at < records[-1][0]:
            index = len(records)
            while index and records[index - 1][0] > at:
                index -= 1
            records.insert(index, (at, kind, value))
        else:
            records.append((at, kind, value))
        while records and records[0][0] < at - RETENTION_SECONDS:
            records.popleft()

    def snapshot(self, now: float, window: float, target_seconds: float) -> Snapshot:
        since = now - window
        counts: collections.Counter[Kind] = collections.Counter()
        waited = handled = 0.0
        in_target = abandoned_late = 0
        for at, kind, value in reversed(self._records):
            if at < since:
                break
            counts[kind] += 1
            if kind is Kind.ANSWERED:
                waited += value
                in_target += value <= target_seconds
            elif kind is Kind.ABANDONED:
                abandoned_late += value > target_seconds
            elif kind is Kind.COMPLETED:
                handled += value
        answered = counts[Kind.ANSWERED]
        # Answered in target over everything that reached a decision; short abandons don't count.
        decided = answered + abandoned_late
        return Snapshot(
            window=window,
            offered=counts[Kind.ARRIVED],
            answered=answered,
            abandoned=counts[Kind.ABANDONED],
            answered_in_target=in_target,
            service_level=in_target / decided if decided else 1.0,
            average_speed_of_answer=waited / answered if answered else 0.0,
            average_handle_time=handled / counts[Kind.COMPLETED] if counts[Kind.COMPLETED] else 0.0,
            transfers=counts[Kind.TRANSFERRED],
            arrival_rate=counts[Kind.ARRIVED] / window if window > 0 else 0.0,
            overflowed=counts[Kind.OVERFLOWED],
            handled_seconds=handled,
        )
