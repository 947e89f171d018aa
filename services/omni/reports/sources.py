"""The contacts of a period, read from the sessions service (ListSessions, newest first, with
this service's own token) and turned into contact records; the follow-ups due in it, read from
routing (ListFollowUps)."""

from __future__ import annotations

import datetime as dt

from omni.kpis import stored
from omni.kpis.follow_ups import FollowUpRecord
from omni.kpis.records import ContactRecord
from omni.runtime.clients import channel
from omni.runtime.token_source import TokenSource
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2, sessions_pb2_grpc

PAGE_SIZE = 500
# A contact counts in the period it arrived (queued) in; its session may have opened a little
# earlier (IVR, a bot): sessions created this long before the period are read too.
OPENED_BEFORE = dt.timedelta(hours=6)


class SessionContacts:
    def __init__(self, sessions_addr: str, token: str | TokenSource, timeout: float, *, tls_ca_file: str = "") -> None:
        self._stub = sessions_pb2_grpc.SessionServiceStub(channel(sessions_addr, token, tls_ca_file=tls_ca_file))
        self._timeout = timeout

    async def between(self, start: dt.datetime, end: dt.datetime) -> list[ContactRecord]:
        """Contacts that arrived in [start, end)."""
        sessions: list[sessions_pb2.Session] = []
        page_token = ""
        while True:
            page = await self._stub.ListSessions(
                sessions_pb2.ListSessionsRequest(page_size=PAGE_SIZE, page_token=page_token), timeout=self._timeout)
            sessions.extend(s for s in page.sessions if s.create_time.ToDatetime(tzinfo=dt.UTC) < end)
            oldest = page.sessions[-1].create_time.ToDatetime(tzinfo=dt.UTC) if page.sessions else start
            page_token = page.next_page_token
            if not page_token or oldest < start - OPENED_BEFORE:
                break
        return [r for r in stored.contact_records(sessions) if start.timestamp() <= r.arrived < end.timestamp()]


class RoutingFollowUps:
    def __init__(self, routing_addr: str, token: str | TokenSource, timeout: float, *, tls_ca_file: str = "") -> None:
        self._stub = routing_pb2_grpc.RoutingServiceStub(channel(routing_addr, token, tls_ca_file=tls_ca_file))
        self._timeout = timeout

    async def between(self, start: dt.datetime, end: dt.datetime) -> list[FollowUpRecord]:
        """Follow-ups due in [start, end)."""
        request = routing_pb2.ListFollowUpsRequest(page_size=PAGE_SIZE)
        request.due_after.FromDatetime(start)
        request.due_before.FromDatetime(end)
        found: list[routing_pb2.WorkItem] = []
        while True:
            page = await self._stub.ListFollowUps(request, timeout=self._timeout)
            found.extend(page.work_items)
            if not page.next_page_token:
                return stored.follow_up_records(found)
            request.page_token = page.next_page_token
