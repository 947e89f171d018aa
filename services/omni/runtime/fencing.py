"""Events of a partitioned service (routing) carry the partition that decided them and the lease
epoch its owner held; a later owner of the partition always has a higher epoch. A consumer keeps,
on the record an event changes, the highest epoch it applied per partition, and drops an event of
a lower one: a former owner's, published late (after its lease ran out, or redelivered after
the bus forgot its id), which must not undo what the current owner decided since."""

from __future__ import annotations

from collections.abc import MutableMapping


def admits(seen: MutableMapping[str, int], partition: str, epoch: int) -> bool:
    """Whether an event of `partition` at `epoch` is current for a record that has applied
    `seen` (partition -> highest epoch); if so, `seen` remembers it. An event without a partition
    or epoch (a producer that does not fence) is always current."""
    if not partition or epoch <= 0:
        return True
    if epoch < seen.get(partition, 0):
        return False
    seen[partition] = epoch
    return True
