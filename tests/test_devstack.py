"""`make run` end to end: the launcher brings up every service SERVING and tears it all down."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from omni.devstack.stack import SERVICES, StackInfo


@pytest.mark.slow
def test_run_starts_every_service_serving_and_stops_cleanly(tmp_path: Path) -> None:
    launcher = subprocess.Popen(
        [sys.executable, "-m", "omni.cli.main", "--data-dir", str(tmp_path), "run", "--ephemeral"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # As a shell starts a background job: SIGINT ignored. Ctrl-C must stop the stack anyway.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        assert launcher.stdout is not None
        while time.monotonic() < deadline:
            line = launcher.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.strip() == "ready":
                break
        assert lines and lines[-1].strip() == "ready", "".join(lines)
        output = "".join(lines)
        assert "demo agent A-1001 token" in output
        info = StackInfo.load(tmp_path / "stack.json")
        assert set(info.addresses) == set(SERVICES)
        for name, address in info.addresses.items():
            with grpc.insecure_channel(address) as channel:
                reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, name
    finally:
        launcher.send_signal(signal.SIGINT)
        code = launcher.wait(60)
    assert code == 0, "".join(lines)
    for address in info.addresses.values():
        with grpc.insecure_channel(address) as channel, pytest.raises(grpc.RpcError):
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
