"""Who owns an identity, remembered across batches: the one read a batch of interactions would
otherwise make for every identity it presents, however often the same customers come back.

Safe to keep because an identity's owner only ever changes by a merge of customers, and a merge
leaves the merged-away customer behind as a redirect to its target: an owner remembered from
before a merge (here or on another replica) is followed to the customer who owns the identity
now, as the workspace does for every owner (`Workspace.owners`). Only owners are remembered,
never "nobody owns it" (another replica may claim the identity at any moment), and only what is
committed: owners read from the store, and a batch's own claims once it has committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cachetools import LRUCache

# Identity keys remembered (each a few hundred bytes); the least recently used go first.
REMEMBERED = 50_000


class KnownOwners:
    def __init__(self, size: int = REMEMBERED) -> None:
        self._owners: LRUCache[str, str] = LRUCache(maxsize=size)

    def of(self, keys: Iterable[str]) -> dict[str, str]:
        """The remembered owners of `keys` (those not remembered are left out)."""
        return {key: owner for key in keys if (owner := self._owners.get(key))}

    def learn(self, owners: Mapping[str, str]) -> None:
        """Committed owners: read from the store, or claimed by a batch that committed."""
        self._owners.update(owners)
