"""The back-off of `omni run`'s supervisor, on real children; the supervisor is handed made-up
clock readings, so that a 30 s delay takes no time."""

from __future__ import annotations

import sys
from pathlib import Path

from omni.devstack.processes import ManagedProcess
from omni.devstack.supervisor import STABLE_AFTER, Supervisor


def restart(supervisor: Supervisor, child: ManagedProcess, said: list[str], *, ran: float) -> str:
    """Wait until the child has exited, tell the supervisor it did so `ran` seconds after its start,
    and let the announced delay pass; what the supervisor said."""
    assert child.process is not None
    # A generous deadline: on two busy cores even Python's start-up can take seconds.
    child.process.wait(120)
    exited_at = child.started_at + ran
    supervisor.check(exited_at)
    line = said[-1]
    delay = float(line.split("restarting in ")[1].split(" s")[0])
    before = child.process
    supervisor.check(exited_at + delay - 0.01)
    assert child.process is before, "started again before its delay was over"
    supervisor.check(exited_at + delay)
    assert child.process is not before, "not started again once its delay was over"
    return line


def test_a_crashing_child_waits_twice_as_long_each_time_up_to_30_s_and_1_s_again_after_it_stayed_up() -> None:
    said: list[str] = []
    child = ManagedProcess("crasher", [sys.executable, "-c", "raise SystemExit(3)"]).start()
    supervisor = Supervisor([child], said.append)
    try:
        lines = [restart(supervisor, child, said, ran=0.5) for _ in range(7)]
        assert lines == [f"crasher exited with code 3; restarting in {d} s" for d in (1, 2, 4, 8, 16, 30, 30)]
        # Past STABLE_AFTER, not at it: started_at + 60 - started_at may round to just under 60.
        assert restart(supervisor, child, said, ran=STABLE_AFTER + 0.5).endswith("restarting in 1 s")
        assert restart(supervisor, child, said, ran=0.5).endswith("restarting in 2 s")
    finally:
        child.stop()


def test_a_killed_child_is_named_with_its_signal_and_its_log(tmp_path: Path) -> None:
    said: list[str] = []
    log = tmp_path / "sleeper.log"
    child = ManagedProcess("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], log_path=log).start()
    supervisor = Supervisor([child], said.append)
    try:
        assert child.process is not None
        child.process.kill()
        restart(supervisor, child, said, ran=0.5)
        assert said == [f"sleeper was killed by SIGKILL; restarting in 1 s (see {log})"]
        assert child.returncode is None, "the new one runs"
    finally:
        child.stop()
