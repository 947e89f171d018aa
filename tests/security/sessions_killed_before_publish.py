"""`python sessions_killed_before_publish.py`: the sessions service (configured from OMNI_* like
`python -m omni.sessions`), killed with SIGKILL the moment it is about to publish its first
session_state_changed: after the write that stored the change, before the event left.

Used by tests/security/test_item10_no_lost_state_event.py to stand for a node lost at the worst moment.
"""

from __future__ import annotations

import os
import runpy
import signal
from typing import Any

from omni.runtime.events import EventBus

_publish = EventBus.publish


async def _publish_or_die(self: EventBus, domain: str, event_type: str, *args: Any, **kwargs: Any) -> Any:
    if event_type == "session_state_changed":
        os.kill(os.getpid(), signal.SIGKILL)
    return await _publish(self, domain, event_type, *args, **kwargs)


if __name__ == "__main__":  # not in the mail-parsing worker processes, which import this file again
    EventBus.publish = _publish_or_die  # type: ignore[method-assign]
    runpy.run_module("omni.sessions", run_name="__main__")
