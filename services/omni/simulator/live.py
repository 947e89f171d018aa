"""Live mode: a client of the running stack (`make run`), through its public interfaces only.

`StackAccess` finds the stack (`<data-dir>/stack.json`, written by `omni run`) and mints, with
its local issuer's key, the tokens a customer, an agent or a supervisor would hold, and the chat identity tokens the
company's website would sign for a signed-in customer. `fetch_sessions` reads the stored
session data the KPI report is computed from, `fetch_follow_ups` routing's follow-up tasks.
The tour (`omni.simulator.tour`) drives customers and an agent against it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

import grpc

from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.stack import StackInfo
from omni.runtime import clients
from omni.runtime.auth import Role
from omni.sessions.domain.chat_identity import mint_identity_token
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2, sessions_pb2_grpc


class StackNotRunning(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class StackAccess:
    info: StackInfo
    issuer: LocalIssuer
    data_dir: Path

    @classmethod
    def open(cls, data_dir: Path) -> StackAccess:
        path = data_dir / "stack.json"
        if not path.exists():
            raise StackNotRunning(f"{path} not found: start the stack first (`make run`, or `omni run`)")
        try:
            issuer = LocalIssuer.load(data_dir, os.environ.get("OMNI_ISSUER_KEY_FILE", ""))
        except FileNotFoundError as exc:
            raise StackNotRunning(str(exc)) from None
        return cls(StackInfo.load(path), issuer, data_dir)

    def token(self, role: Role, subject: str, *, groups: tuple[str, ...] = (), session_id: str = "") -> str:
        return self.issuer.mint(subject, role, groups=groups, session_id=session_id, ttl_seconds=3600)

    def identity_token(self, *, email: str = "", phone: str = "", name: str = "") -> str:
        """A chat identity token as the company's website signs it for its signed-in user."""
        secret = os.environ.get("OMNI_CHAT_IDENTITY_SECRET") or _read(self.data_dir / "chat_identity_secret")
        return mint_identity_token(secret, email=email, phone=phone, name=name)

    def channel(self, service: str, token: str) -> grpc.aio.Channel:
        return clients.channel(self.info.addresses[service], token)

    @property
    def smtp(self) -> tuple[str, int]:
        return "127.0.0.1", self.info.ports["smtp"]

    @property
    def websocket_url(self) -> str:
        return f"ws://127.0.0.1:{self.info.ports['websocket']}/chat"


def _read(path: Path) -> str:
    if not path.exists():
        variable = "OMNI_" + path.name.upper()
        raise StackNotRunning(f"set {variable} or start the stack once (`make run`) so that {path} exists")
    return path.read_text().strip()


async def fetch_sessions(access: StackAccess, *, since: dt.datetime | None = None,
                         until: dt.datetime | None = None) -> list[sessions_pb2.Session]:
    """Every stored session created in [since, until), as a supervisor sees them."""
    token = access.token(Role.SUPERVISOR, "omni-report")
    sessions: list[sessions_pb2.Session] = []
    async with access.channel("sessions", token) as channel:
        stub = sessions_pb2_grpc.SessionServiceStub(channel)
        page_token = ""
        while True:
            page = await stub.ListSessions(sessions_pb2.ListSessionsRequest(page_size=500, page_token=page_token),
                                           timeout=30)
            for session in page.sessions:
                created = session.create_time.ToDatetime(tzinfo=dt.UTC)
                if (since is None or created >= since) and (until is None or created < until):
                    sessions.append(session)
            page_token = page.next_page_token
            if not page_token:
                return sessions


async def fetch_follow_ups(access: StackAccess, *, since: dt.datetime | None = None,
                           until: dt.datetime | None = None) -> list[routing_pb2.WorkItem]:
    """The follow-ups due in [since, until), as a supervisor sees them."""
    token = access.token(Role.SUPERVISOR, "omni-report")
    request = routing_pb2.ListFollowUpsRequest(page_size=500)
    if since is not None:
        request.due_after.FromDatetime(since)
    if until is not None:
        request.due_before.FromDatetime(until)
    found: list[routing_pb2.WorkItem] = []
    async with access.channel("routing", token) as channel:
        stub = routing_pb2_grpc.RoutingServiceStub(channel)
        while True:
            page = await stub.ListFollowUps(request, timeout=30)
            found.extend(page.work_items)
            if not page.next_page_token:
                return found
            request.page_token = page.next_page_token
