"""An event kept with the change that caused it (the outbox): written in the same document as
the change (the work item or agent its `subject` names, in one atomic write), published after
the write, removed from the document once published; what a crash leaves behind is published
by the partition's next owner, in order, under the same event ids."""

from __future__ import annotations

import dataclasses
import itertools


@dataclasses.dataclass(frozen=True)
class OutboxEntry:
    partition: str
    epoch: int
    # Order of making within the owner's epoch: the order of publishing.
    n: int
    event_type: str
    subject: str
    event_id: str
    payload: bytes


_numbers = itertools.count(1)


def outbox_entry(partition: str, epoch: int, event_type: str, subject: str, event_id: str,
                 payload: bytes) -> OutboxEntry:
    return OutboxEntry(partition, epoch, next(_numbers), event_type, subject, event_id, payload)
