"""`python tickets_killed_mid_transaction.py`: the tickets service (configured from OMNI_* like
`python -m omni.tickets`), killed with SIGKILL the moment it is about to commit its first
transaction: its writes are in the server, locking the documents they touched, and nobody will
ever commit or abort them.

Used by tests/security/test_item11_stuck_message.py to stand for a node lost at the worst moment.
"""

from __future__ import annotations

import os
import runpy
import signal

from pymongo.asynchronous.client_session import AsyncClientSession


async def _die(self: AsyncClientSession) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    AsyncClientSession.commit_transaction = _die  # type: ignore[method-assign]
    runpy.run_module("omni.tickets", run_name="__main__")
