"""The one-machine stack behind `make run`: nats-server, the MongoDB-protocol server, the four
services and the web gateway (agent desk, chat widget, demo site) as separate processes, demo
data, children restarted when they exit (`supervisor`), and a clean stop on Ctrl-C."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import secrets
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import grpc
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from grpc_health.v1 import health_pb2, health_pb2_grpc

from omni.devstack import demo
from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import ManagedProcess, free_port, mongo_server, nats_server, stop_all
from omni.devstack.supervisor import Supervisor
from omni.runtime.auth import Role
from omni.web.service import DEMO_PATH, DESK_PATH, SUPERVISOR_PATH

SERVICES = ("tickets", "sessions", "knowledge", "routing", "reports", "supervision")
# Ports of `make run`; `--ephemeral` picks free ones instead (tests).
DEFAULT_PORTS = {
    "nats": 4222,
    "mongo": 27017,
    "tickets": 50051,
    "sessions": 50052,
    "knowledge": 50053,
    "routing": 50054,
    "reports": 50055,
    "supervision": 50056,
    "smtp": 2525,
    "websocket": 8765,
    "outbox": 2526,
    "issuer": 8090,
    "web": 8080,
}
# The demo queues with simple intents (omni.devstack.demo.routing) that the stack's self-service bot serves.
BOT_QUEUES = ("chat", "general", "billing")
DEMO_AGENT = "A-1001"
DEMO_GROUPS = ("general", "billing", "complaints")


def load_or_create_secret(data_dir: Path, name: str) -> str:
    """A dev stack secret, kept in the data dir: `chat_identity_secret` (the chat widget's identity
    tokens, as the company's website would sign them; `omni tour`) or `replica_secret` (the
    services' page tokens and the gateway's CSRF tokens)."""
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclasses.dataclass
class StackInfo:
    nats_url: str
    mongo_url: str
    addresses: dict[str, str]
    ports: dict[str, int]
    data_dir: str
    # The web gateway: http://127.0.0.1:<port>, serving /desk/, /supervisor/ and /demo/.
    web_url: str = ""

    @property
    def desk_url(self) -> str:
        return f"{self.web_url}{DESK_PATH}"

    @property
    def demo_url(self) -> str:
        return f"{self.web_url}{DEMO_PATH}"

    @property
    def floor_url(self) -> str:
        return f"{self.web_url}{SUPERVISOR_PATH}"

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(dataclasses.asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> StackInfo:
        return cls(**json.loads(path.read_text()))


def wait_serving(address: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
            except grpc.RpcError as exc:
                last = exc.code().name
            time.sleep(0.1)
    raise TimeoutError(f"service at {address} not SERVING within {timeout:.0f}s (last: {last})")


def wait_healthy(url: str, timeout: float = 60.0) -> None:
    """Until `url` (an HTTP probe such as the gateway's /healthz) answers 200."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1.0) as answer:
                if answer.status == 200:
                    return
                last = f"HTTP {answer.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f}s (last: {last})")


class Outbox:
    """The relay agent replies go out through: on one machine nobody's real mailbox should get them,
    so each message is written to `<data dir>/outbox/` as an .eml file instead."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self._controller = Controller(self, hostname="127.0.0.1", port=port)
        self._running = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{secrets.token_hex(4)}.eml"
        content = envelope.original_content or b""
        (self.directory / name).write_bytes(content if isinstance(content, bytes) else content.encode())
        return "250 kept in the dev outbox"

    def start(self) -> None:
        self._controller.start()
        self._running = True

    def stop(self) -> None:
        if self._running:
            self._controller.stop()
            self._running = False


class DevStack:
    def __init__(self, data_dir: Path, *, ephemeral: bool = False) -> None:
        self.data_dir = data_dir
        self.ports = {name: free_port() for name in DEFAULT_PORTS} if ephemeral else dict(DEFAULT_PORTS)
        # Token keys and clients (docs/security.md): the stack is the local issuer.
        self.local = LocalIssuer.create(data_dir)
        self.replica_secret = load_or_create_secret(data_dir, "replica_secret")
        self.identity_secret = load_or_create_secret(data_dir, "chat_identity_secret")
        # nats-server and the MongoDB-protocol server; the services and the bot worker need them.
        self.infrastructure: list[ManagedProcess] = []
        self.services: list[ManagedProcess] = []
        self.outbox = Outbox(data_dir / "outbox", self.ports["outbox"])
        self.info: StackInfo | None = None

    def service_env(self, nats_url: str, mongo_url: str) -> dict[str, str]:
        env = {
            **os.environ,
            "OMNI_NATS_URL": nats_url,
            "OMNI_MONGO_URL": mongo_url,
            **self.local.trust_env(),
            "OMNI_REPLICA_SECRET": self.replica_secret,
            "OMNI_CHAT_IDENTITY_SECRET": self.identity_secret,
            "OMNI_SMTP_LISTEN": f"127.0.0.1:{self.ports['smtp']}",
            "OMNI_WEBSOCKET_LISTEN": f"127.0.0.1:{self.ports['websocket']}",
            "OMNI_SMTP_RELAY": f"127.0.0.1:{self.ports['outbox']}",
            # No load balancer to notice NOT_SERVING, and the only call that stays in flight is the
            # bot's long poll of routing: Ctrl-C takes a second or three, not the poll's ten.
            "OMNI_SHUTDOWN_DELAY": "0.2",
            "OMNI_SHUTDOWN_GRACE": "1",
        }
        for name in SERVICES:
            env[f"OMNI_{name.upper()}_ADDR"] = f"127.0.0.1:{self.ports[name]}"
        return env

    def own_env(self, name: str) -> dict[str, str]:
        """What one process alone gets: its client of the token issuer (routing, the bot worker),
        sessions its chat token key."""
        token_url = f"http://127.0.0.1:{self.ports['issuer']}/token"
        return {
            "routing": self.local.client_env("routing", token_url),
            "reports": self.local.client_env("reports", token_url),
            "supervision": self.local.client_env("supervision", token_url),
            "worker": self.local.client_env("bot-worker", token_url),
            # Survey links in emails open the gateway's survey page.
            "sessions": {"OMNI_CHAT_TOKEN_KEY_FILES": str(self.local.chat_key_file),
                         "OMNI_SURVEY_LINK_BASE": f"http://127.0.0.1:{self.ports['web']}",
                         **self.local.client_env("sessions", token_url)},
        }.get(name, {})

    def start(self) -> StackInfo:
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        nats = nats_server(self.ports["nats"], self.data_dir / "nats", logs / "nats.log")
        self.infrastructure.append(nats)
        mongo = mongo_server(self.ports["mongo"], self.data_dir / "mongo", logs / "mongo.log")
        self.infrastructure.append(mongo)
        self.infrastructure.append(self.local.server(self.ports["issuer"], logs / "issuer.log"))
        self.outbox.start()
        env = self.service_env(nats.url, mongo.url)
        addresses: dict[str, str] = {}
        for name in SERVICES:
            address = f"127.0.0.1:{self.ports[name]}"
            proc = ManagedProcess(
                name,
                [sys.executable, "-m", f"omni.{name}"],
                env={**env, **self.own_env(name), "OMNI_GRPC_LISTEN": address},
                log_path=logs / f"{name}.log",
            ).start()
            self.services.append(proc)
            addresses[name] = address
        web_url = self.start_gateway(env)
        for address in addresses.values():
            wait_serving(address)
        wait_healthy(f"{web_url}/healthz")
        self.info = StackInfo(nats.url, mongo.url, addresses, self.ports, str(self.data_dir), web_url)
        self.info.save(self.data_dir / "stack.json")
        return self.info

    def start_gateway(self, env: dict[str, str]) -> str:
        """The web gateway on plain http at 127.0.0.1 (so no Secure cookie), relaying the widget's
        chat to this stack's WebSocket endpoint; its URL."""
        listen = f"127.0.0.1:{self.ports['web']}"
        self.services.append(ManagedProcess(
            "web", [sys.executable, "-m", "omni.web"],
            env={**env, "OMNI_WEB_LISTEN": listen, "OMNI_WEB_COOKIE_SECURE": "false",
                 "OMNI_WEB_CHAT_URL": f"ws://127.0.0.1:{self.ports['websocket']}/chat"},
            log_path=self.data_dir / "logs" / "web.log",
        ).start())
        return f"http://{listen}"

    def start_bots(self) -> None:
        """One worker of the self-service bot pool the operator runs in a cluster; after the demo
        queues exist, since it asks routing for work of those queues."""
        assert self.info is not None
        env = self.service_env(self.info.nats_url, self.info.mongo_url)
        self.services.append(ManagedProcess(
            "worker", [sys.executable, "-m", "omni.worker"],
            env={**env, **self.own_env("worker"), "OMNI_WORKER_QUEUES": ",".join(BOT_QUEUES),
                 "OMNI_WORKER_ID": "devstack-bot"},
            log_path=self.data_dir / "logs" / "worker.log",
        ).start())

    def token_for(self, subject: str, role: Role, groups: tuple[str, ...] = (), ttl_seconds: int = 12 * 3600) -> str:
        """A bearer token this stack's services and gateway accept: the one place the stack mints them."""
        return self.local.mint(subject, role, groups=groups, ttl_seconds=ttl_seconds)

    def service_token(self) -> str:
        """Loading the demo data: a service token of ten minutes."""
        return self.token_for("devstack", Role.SERVICE, ttl_seconds=600)

    def agent_token(self) -> str:
        return self.token_for(DEMO_AGENT, Role.AGENT, DEMO_GROUPS)

    async def seed(self) -> list[str]:
        """Load the demo data of each service that has some (`omni.devstack.demo`); their names."""
        assert self.info is not None
        for name, seed in demo.SEEDS.items():
            await seed(self.info.addresses[name], self.service_token())
        return list(demo.SEEDS)

    def supervise(self, say: Callable[[str], None]) -> NoReturn:
        """Restart whichever child exits, until Ctrl-C or SIGTERM (KeyboardInterrupt) ends it."""
        Supervisor([*self.infrastructure, *self.services], say).watch()

    def stop(self) -> None:
        # The services (and the bot) first, all at once, so that they can still reach NATS and
        # MongoDB while they shut down; then those two.
        for tier in (self.services, self.infrastructure):
            stop_all(tier)
            tier.clear()
        self.outbox.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop the stack cleanly (and a benchmark's servers: they run in sessions
    of their own, so only our `finally` stops them). Set explicitly: a shell starting us in the
    background hands down SIGINT ignored, and libraries loaded at start-up may catch SIGTERM."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def run(data_dir: Path, *, ephemeral: bool, seed: bool) -> int:
    stack = DevStack(data_dir, ephemeral=ephemeral)
    stop_on_signals()
    try:
        info = stack.start()
        seeded = asyncio.run(stack.seed()) if seed else []
        if seeded:
            stack.start_bots()
        print("omnichannel is running (Ctrl-C stops everything)\n")
        print(f"  {'desk':<10}       {info.desk_url}")
        print(f"  {'demo site':<10}       {info.demo_url}   (a company website with the chat widget)")
        print(f"  {'floor':<10}       {info.floor_url}   (supervisors: sign in at the desk first)")
        print(f"\n  demo agent {DEMO_AGENT} token (paste it at the desk's sign-in):\n  {stack.agent_token()}\n")
        for name, address in info.addresses.items():
            print(f"  {name:<10} grpc  {address}")
        print(f"  {'email':<10} smtp  127.0.0.1:{info.ports['smtp']}")
        print(f"  {'chat':<10} ws    ws://127.0.0.1:{info.ports['websocket']}/chat")
        print(f"  {'replies':<10} smtp  127.0.0.1:{info.ports['outbox']} -> {data_dir / 'outbox'}")
        print(f"  {'tokens':<10} http  127.0.0.1:{info.ports['issuer']}  (keys and clients in {data_dir})")
        print(f"  {'nats':<10}       {info.nats_url}")
        print(f"  {'mongodb':<10}       {info.mongo_url}")
        if seeded:
            print(f"  {'bot':<10}       self-service worker on queues {', '.join(BOT_QUEUES)}")
        print(f"\n  demo data loaded for: {', '.join(seeded) or 'none'}")
        print(f"  logs: {data_dir / 'logs'}   stack description: {data_dir / 'stack.json'}")
        print("\n  next: .venv/bin/omni tour      (a customer calls, chats and emails)")
        print("        .venv/bin/omni token --role supervisor --subject S-2001 --groups general,billing,complaints,tech"
              "   (the demo supervisor)")
        print("ready", flush=True)
        # Again after start-up: a stuck launcher showed SIGTERM caught natively (not by Python).
        stop_on_signals()
        stack.supervise(lambda line: print(line, file=sys.stderr, flush=True))
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    finally:
        stack.stop()
