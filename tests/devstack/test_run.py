"""`omni run` end to end, as `make run` starts it: every service SERVING, the agent desk answering
at the URL printed first, a killed service started again by the launcher, and Ctrl-C stopping
every process it started.

The tests share one stack (starting it takes most of their time); the Ctrl-C test stops it, so it
comes last.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from omni.devstack.stack import SERVICES, StackInfo, wait_serving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the launcher's children in /proc"),
]

# The services get SIGTERM all at once, then NATS and MongoDB: about 3 s, the bot worker being
# the slowest. One after another, each waiting out the bot's long poll, took 10 s and more.
STOP_WITHIN = 15.0


class Launcher:
    """`omni run --ephemeral` in a subprocess, its terminal output read line by line as it comes."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.process = subprocess.Popen(
            [sys.executable, "-m", "omni.cli.main", "--data-dir", str(data_dir), "run", "--ephemeral"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # As a shell starts a background job: SIGINT ignored. Ctrl-C must stop the stack anyway.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
        self.lines: list[str] = []
        self._closed = False
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def wait_for_line(self, wanted: Callable[[str], bool], timeout: float) -> str:
        def found() -> str | None:
            return next((line for line in self.lines if wanted(line)), None)

        with self._changed:
            self._changed.wait_for(lambda: found() is not None or self._closed, timeout)
            line = found()
            assert line is not None, "\n".join(self.lines)
            return line

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def children(self) -> dict[int, str]:
        """Every process below the launcher (children and theirs), by pid, with its command line."""
        return descendants(self.process.pid)


def _stat(pid: int | str) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name (which may hold spaces): state, ppid, …"""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def descendants(root: int) -> dict[int, str]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):  # gone meanwhile
                parents[int(entry.name)] = int(_stat(entry.name)[1])
    found: dict[int, str] = {}
    below = [root]
    while below:
        parent = below.pop()
        for pid, ppid in parents.items():
            if ppid == parent:
                with contextlib.suppress(OSError):
                    found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                below.append(pid)
    return found


def alive(pid: int) -> bool:
    try:
        return _stat(pid)[0] != "Z"
    except OSError:
        return False


def pid_of(children: dict[int, str], module: str) -> int:
    [pid] = [pid for pid, argv in children.items() if argv.endswith(f"-m {module}")]
    return pid


def health(address: str) -> health_pb2.HealthCheckResponse.ServingStatus.ValueType:
    with grpc.insecure_channel(address) as channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path_factory.mktemp("stack"))
    try:
        launcher.wait_for_line(lambda line: line == "ready", timeout=120)
        yield launcher
    finally:
        if launcher.process.poll() is None:
            left = launcher.children()
            launcher.process.send_signal(signal.SIGINT)
            try:
                launcher.process.wait(60)
            except subprocess.TimeoutExpired:
                # Its children run in sessions of their own: they would outlive it.
                for pid in [launcher.process.pid, *left]:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)


def test_run_starts_every_service_serving(stack: Launcher) -> None:
    assert "demo agent A-1001 token" in stack.output
    info = StackInfo.load(stack.data_dir / "stack.json")
    assert set(info.addresses) == set(SERVICES)
    for name, address in info.addresses.items():
        assert health(address) == health_pb2.HealthCheckResponse.SERVING, name


def test_run_prints_the_desk_first_and_the_desk_and_demo_site_answer(stack: Launcher) -> None:
    info = StackInfo.load(stack.data_dir / "stack.json")
    ready = stack.lines.index("ready")
    entries = [line.split() for line in stack.lines[:ready] if line.startswith("  ") and line.strip()]
    # What someone opening the browser needs comes first: the desk, the demo site, the token to paste.
    assert entries[0] == ["desk", info.desk_url]
    assert entries[1][:3] == ["demo", "site", info.demo_url]
    assert entries[2][:2] == ["floor", info.floor_url]
    token = stack.lines[stack.lines.index(next(line for line in stack.lines if "token (paste" in line)) + 1].strip()
    assert info.desk_url.startswith(f"http://127.0.0.1:{info.ports['web']}/")
    with urllib.request.urlopen(info.desk_url, timeout=10) as desk:
        assert desk.status == 200
        assert "<omni-desk" in desk.read().decode()
    with urllib.request.urlopen(info.demo_url, timeout=10) as demo:
        assert "widget.js" in demo.read().decode()
    with urllib.request.urlopen(info.floor_url, timeout=10) as floor:
        assert "<omni-floor" in floor.read().decode()
    # The printed token signs in at the gateway, as a paste into the desk's sign-in form does.
    signin = urllib.request.Request(f"{info.web_url}/api/signin", data=json.dumps({"token": token}).encode(),
                                    method="POST", headers={"content-type": "application/json",
                                                            "origin": info.web_url})
    with urllib.request.urlopen(signin, timeout=10) as answer:
        assert json.loads(answer.read())["subject"] == "A-1001"


def test_a_killed_service_is_started_again_and_serves(stack: Launcher) -> None:
    info = StackInfo.load(stack.data_dir / "stack.json")
    killed = pid_of(stack.children(), "omni.routing")
    os.kill(killed, signal.SIGKILL)
    stack.wait_for_line(lambda line: line.startswith("routing was killed by SIGKILL; restarting in 1 s"), timeout=30)
    # Said only once the launcher saw the old process gone: SERVING now comes from the new one.
    wait_serving(info.addresses["routing"], timeout=60)
    assert pid_of(stack.children(), "omni.routing") != killed


def test_ctrl_c_stops_every_process_it_started(stack: Launcher) -> None:
    started = stack.children()
    commands = " | ".join(started.values())
    for expected in ("nats-server", "secantusd-py", *(f"-m omni.{name}" for name in (*SERVICES, "worker", "web"))):
        assert expected in commands
    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(STOP_WITHIN) == 0, stack.output
    assert {pid: argv for pid, argv in started.items() if alive(pid)} == {}
