"""Every benchmark under bench/ still starts: its imports resolve against the code as it is now
(the scripts are run by hand; `make lint` type-checks them, this runs each one's start)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.polling import eventually

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("*.py")))
def test_the_benchmark_starts_and_explains_itself(script: str) -> None:
    done = subprocess.run([sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ")


def _children(pid: int) -> dict[int, str]:
    """Processes whose parent is `pid`, with their command lines."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        if f"\nPPid:\t{pid}\n" in status:
            found[int(entry.name)] = command
    return found


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


async def _listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


@pytest.mark.parametrize("when", ["starting", "running"])
async def test_a_benchmark_killed_with_sigterm_stops_the_servers_it_started(when: str) -> None:
    """The servers run in sessions of their own: only the benchmark's own clean-up stops them,
    whether it is stopped while they start or once they serve."""
    bench = await asyncio.create_subprocess_exec(
        sys.executable, str(BENCH / "tickets_ingest.py"), "--interactions", "200000",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        servers = await eventually(lambda: asyncio.sleep(0, _children(bench.pid)),
                                   lambda found: sum(("nats-server" in c or "secantusd" in c)
                                                     for c in found.values()) == 2,
                                   what="the benchmark's nats-server and SecantusDB", within=60)
        if when == "running":
            store = next(c for c in servers.values() if "secantusd" in c).split()
            port = int(store[store.index("--port") + 1])
            await eventually(lambda: _listening(port), what="SecantusDB to listen", within=60)
        bench.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bench.wait(), 60) != 0
        await eventually(lambda: asyncio.sleep(0, [pid for pid in servers if _alive(pid)]), lambda left: not left,
                         what="the servers to be stopped", within=30)
    finally:
        if bench.returncode is None:
            bench.kill()
            await bench.wait()
