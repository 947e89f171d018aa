"""How long from an angry chat message to the supervisor's alert, next to routing's own event?

Starts the local stack as `make run` does (nats-server, SecantusDB, the five services and the web
gateway, each its own process; no demo data, no bot), creates the chat queue, and has `--chats`
visitors say something angry on the sessions service's WebSocket chat endpoint, `--rounds` times
(a fresh chat each time, `--pause` seconds apart). For each message it times, on this machine's
clock:

- baseline: the message sent → routing's `work_queued` event for that chat (a plain NATS
  subscription): sessions classifying, storing and publishing it, routing queuing it;
- alert: the message sent → the `angry` alert on supervision's `WatchAlerts` stream (an admin's
  watch, as the floor view's): the same path, then supervision consuming routing's event, storing
  the alert with its event and publishing it to the watchers.

    .venv/bin/python bench/alert_latency.py [--chats 20] [--rounds 3] [--pause 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import grpc
import nats
from nats.aio.msg import Msg
from websockets.asyncio.client import connect

from omni.devstack.stack import DevStack, StackInfo, stop_on_signals
from omni.runtime.auth import Role, bearer
from omnichannel.common.v1.event_pb2 import EventEnvelope
from omnichannel.routing.v1 import events_pb2 as routing_events
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.supervision.v1 import supervision_pb2, supervision_pb2_grpc

ANGRY = "I am furious, this is unacceptable!!"
WAIT_SECONDS = 60.0


def percentiles(samples: list[float]) -> str:
    if len(samples) < 2:
        return f"n={len(samples)}"
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return f"p50 {cuts[49] * 1000:7.1f} ms   p99 {cuts[98] * 1000:7.1f} ms   (n={len(samples)})"


async def angry_chat(url: str) -> tuple[str, float]:
    """A visitor who says something angry at once; the session id and when it was sent."""
    async with connect(url) as ws:
        await ws.send(json.dumps({"start": {"handle": f"bench-{uuid.uuid4().hex[:10]}"}}))
        while "started" not in (frame := json.loads(await ws.recv())):
            pass
        sent = time.time()
        await ws.send(json.dumps({"text": {"text": ANGRY, "client_message_id": uuid.uuid4().hex}}))
        while "message" not in json.loads(await ws.recv()):
            pass
        return str(frame["started"]["session_id"]), sent


async def run(chats: int, rounds: int, pause: float, work: Path) -> None:
    load_before = os.getloadavg()[0]
    stack = DevStack(work, ephemeral=True)
    queued: dict[str, float] = {}
    alerted: dict[str, float] = {}
    sent: dict[str, float] = {}
    # Set whenever an event or an alert is timed.
    progress = asyncio.Event()
    try:
        info: StackInfo = await asyncio.to_thread(stack.start)
        admin = bearer(stack.token_for("bench", Role.ADMIN))
        async with grpc.aio.insecure_channel(info.addresses["routing"]) as channel:
            await routing_pb2_grpc.RoutingServiceStub(channel).CreateQueue(routing_pb2.CreateQueueRequest(
                queue=routing_pb2.Queue(id="chat", display_name="Chat", groups=["general"],
                                        overflow_threshold=100_000)), metadata=admin)
        bus = await nats.connect(info.nats_url)

        async def on_queued(msg: Msg) -> None:
            envelope = EventEnvelope.FromString(msg.data)
            event = routing_events.WorkEvent()
            envelope.payload.Unpack(event)
            queued.setdefault(event.work.session_id, time.time())
            progress.set()

        await bus.subscribe("omnichannel.routing.work_queued", cb=on_queued)
        async with grpc.aio.insecure_channel(info.addresses["supervision"]) as channel:
            watch = supervision_pb2_grpc.SupervisionServiceStub(channel).WatchAlerts(
                supervision_pb2.WatchAlertsRequest(), metadata=admin)

            async def alerts() -> None:
                async for update in watch:
                    if update.kind == "raised" and update.alert.kind == supervision_pb2.ALERT_KIND_ANGRY:
                        alerted.setdefault(update.alert.session_id, time.time())
                        progress.set()

            listening = asyncio.create_task(alerts())
            url = f"ws://127.0.0.1:{info.ports['websocket']}/chat"

            async def seen(session_ids: list[str]) -> None:
                async with asyncio.timeout(WAIT_SECONDS):
                    while True:
                        progress.clear()
                        if all(s in alerted and s in queued for s in session_ids):
                            return
                        await progress.wait()

            # A first round warms up (connections, the database's first writes) and is not counted.
            await seen([s for s, _ in await asyncio.gather(*(angry_chat(url) for _ in range(chats)))])
            for _ in range(rounds):
                sent.update(await asyncio.gather(*(angry_chat(url) for _ in range(chats))))
                await asyncio.sleep(pause)
            await seen(list(sent))
            listening.cancel()
            watch.cancel()
        await bus.close()
    finally:
        await asyncio.to_thread(stack.stop)

    print(f"machine: {platform.platform()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cpus (the stack's 8 processes and this client share them); load average "
          f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"{chats} angry chats at once, {rounds} round(s)")
    print("message sent → routing's work_queued (baseline):")
    print(f"  {percentiles([queued[s] - t for s, t in sent.items()])}")
    print("message sent → the angry alert on WatchAlerts:")
    print(f"  {percentiles([alerted[s] - t for s, t in sent.items()])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pause", type=float, default=1.0)
    args = parser.parse_args()
    stop_on_signals()  # a killed run stops the servers it started
    if min(args.chats, args.rounds) < 1:
        parser.error("--chats and --rounds must be at least 1")
    with tempfile.TemporaryDirectory(prefix="alert-latency-") as work:
        asyncio.run(run(args.chats, args.rounds, args.pause, Path(work)))


if __name__ == "__main__":
    main()
