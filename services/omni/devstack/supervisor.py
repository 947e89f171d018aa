"""Keep the local stack's children running the way Kubernetes keeps a pod's containers running.

A child that exits, whatever its exit code, is started again after a back-off that doubles from
1 s up to 30 s (Kubernetes' CrashLoopBackOff, scaled down for one machine) and is back at 1 s
once the child had stayed up for a minute. Each restart is said on the terminal, with the log
to read: a service that keeps crashing shows up as the same line with growing delays instead
of taking the whole stack down.
"""

from __future__ import annotations

import dataclasses
import signal
import time
from collections.abc import Callable, Iterable
from typing import NoReturn

from omni.devstack.processes import ManagedProcess

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
# A child that ran at least this long before it exited counts as healthy again: the next
# restart waits FIRST_DELAY, not a delay left over from an old crash loop.
STABLE_AFTER = 60.0


def describe_exit(returncode: int) -> str:
    if returncode >= 0:
        return f"exited with code {returncode}"
    try:
        return f"was killed by {signal.Signals(-returncode).name}"
    except ValueError:  # a real-time signal: the enum names only SIGRTMIN and SIGRTMAX
        return f"was killed by signal {-returncode}"


@dataclasses.dataclass
class _Child:
    process: ManagedProcess
    delay: float = FIRST_DELAY
    # Set while the child is down: when it is started again.
    restart_at: float | None = None


class Supervisor:
    def __init__(self, processes: Iterable[ManagedProcess], say: Callable[[str], None]) -> None:
        self._children = [_Child(p) for p in processes]
        self._say = say

    def check(self, now: float) -> None:
        """Notice children that exited since the last check and start those whose delay is over."""
        for child in self._children:
            process = child.process
            if child.restart_at is None:
                returncode = process.returncode
                if returncode is None:
                    continue
                if now - process.started_at >= STABLE_AFTER:
                    child.delay = FIRST_DELAY
                child.restart_at = now + child.delay
                self._say(f"{process.name} {describe_exit(returncode)}; restarting in {child.delay:g} s"
                          + (f" (see {process.log_path})" if process.log_path else ""))
                child.delay = min(child.delay * 2, MAX_DELAY)
            elif now >= child.restart_at:
                child.restart_at = None
                process.start()

    def watch(self, interval: float = 0.2) -> NoReturn:
        """Check forever; returns only by an exception (KeyboardInterrupt on Ctrl-C or SIGTERM)."""
        while True:
            self.check(time.monotonic())
            time.sleep(interval)
