"""What this replica may decide for: the layout of partitions and, per partition it holds, its
lease epoch and how long the lease is good for without another renewal.

The lease loop (`ownership`) changes it; the engine room asks it before every write and the
use cases before serving a call, so a replica whose lease ran out stops deciding at once, even
before its loop notices (e.g. after a pause).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from omni.routing.domain.partitions import Layout
from omni.runtime.errors import Elsewhere, NotFound


@dataclasses.dataclass
class Held:
    epoch: int
    revision: int
    # time.monotonic() until which the lease is surely still ours on the server.
    good_until: float


class Claims:
    def __init__(self, owner_address: Callable[[str], str]) -> None:
        self.layout = Layout({}, {})
        self.held: dict[str, Held] = {}
        # Where the owner of a partition listens ("" when nobody owns it now).
        self._owner_address = owner_address

    def epoch(self, partition: str) -> int | None:
        """Our epoch for the partition, while the lease is surely ours; None otherwise."""
        held = self.held.get(partition)
        if held is None or time.monotonic() >= held.good_until:
            return None
        return held.epoch

    def holds_all(self) -> bool:
        """True when this replica owns every partition (alone: its engine knows everything)."""
        return all(self.epoch(p) is not None for p in self.layout.partitions())

    def queue_partition(self, queue_id: str) -> str:
        partition = self.layout.of_queue(queue_id)
        if partition is None:
            raise NotFound(f"queue {queue_id!r} does not exist")
        return partition

    def agent_partition(self, agent_id: str) -> str:
        partition = self.layout.of_agent(agent_id)
        if partition is None:
            raise NotFound(f"agent {agent_id} does not exist; create it first")
        return partition

    def owns_queue(self, queue_id: str) -> bool:
        partition = self.layout.of_queue(queue_id)
        return partition is not None and self.epoch(partition) is not None

    def owns_agent(self, agent_id: str) -> bool:
        partition = self.layout.of_agent(agent_id)
        return partition is not None and self.epoch(partition) is not None

    def serve_queue(self, queue_id: str) -> None:
        """Return when this replica decides for the queue; else send the caller to the owner."""
        self.serve(self.queue_partition(queue_id), f"queue {queue_id}")

    def serve_agent(self, agent_id: str) -> None:
        self.serve(self.agent_partition(agent_id), f"agent {agent_id}")

    def serve(self, partition: str, what: str) -> None:
        if self.epoch(partition) is not None:
            return
        address = self._owner_address(partition)
        raise Elsewhere(f"{what} is served by another routing replica ({address or 'being taken over'}); "
                        "ask it", address)
