"""Keyset paging and signed page tokens: a token names a position and nothing else."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from pymongo import ASCENDING, DESCENDING

from omni.devstack.processes import ManagedProcess
from omni.runtime import storage
from omni.runtime.errors import InvalidArgument
from omni.runtime.paging import PageRequest, PageTokens, page_of, page_size

TOKENS = PageTokens.derived_from("a-secret-of-this-test")


def test_a_token_reads_back_the_position_it_was_issued_for() -> None:
    when = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    token = TOKENS.issue((when, "s-9"), listing="sessions", filters=["billing", 2])
    assert TOKENS.read(token, listing="sessions", filters=["billing", 2]) == (when, "s-9")
    assert TOKENS.issue(None, listing="sessions", filters=[]) == ""
    assert TOKENS.read("", listing="sessions", filters=[]) is None


@pytest.mark.parametrize("token", [
    base64.urlsafe_b64encode(json.dumps({"after": ""}).encode()).decode(),  # the old, unsigned form
    "not-a-token",
    "e30.e30",
    "!!!.???",
])
def test_a_made_up_token_is_refused(token: str) -> None:
    with pytest.raises(InvalidArgument, match="start again without it"):
        TOKENS.read(token, listing="sessions", filters=[])


def test_a_changed_token_or_one_carried_to_other_filters_is_refused() -> None:
    token = TOKENS.issue(("q-1",), listing="queues", filters=["billing"])
    mac = token.partition(".")[2]
    other_body = base64.urlsafe_b64encode(b'["zzz"]').decode().rstrip("=")
    for wrong in (f"{other_body}.{mac}", token[:-2] + ("AA" if not token.endswith("AA") else "BB")):
        with pytest.raises(InvalidArgument):
            TOKENS.read(wrong, listing="queues", filters=["billing"])
    with pytest.raises(InvalidArgument):
        TOKENS.read(token, listing="queues", filters=["complaints"])
    with pytest.raises(InvalidArgument):
        TOKENS.read(token, listing="agents", filters=["billing"])
    with pytest.raises(InvalidArgument):
        PageTokens.derived_from("another-deployment").read(token, listing="queues", filters=["billing"])


def test_page_size_defaults_caps_and_refuses_negative() -> None:
    assert page_size(0) == 50
    assert page_size(10_000) == 500
    with pytest.raises(InvalidArgument):
        page_size(-1)


def test_in_memory_pages_cover_every_item_once() -> None:
    items = [f"a-{n:03d}" for n in range(25)]
    seen: list[str] = []
    request = PageRequest(size=7)
    while True:
        page = page_of(items[::-1], lambda i: (i,), request)
        seen += page.items
        if page.next_after is None:
            break
        request = PageRequest(size=7, after=page.next_after)
    assert seen == sorted(items)


async def test_a_position_never_lifts_the_query_it_pages(mongo: ManagedProcess) -> None:
    """The access filter of a list is an `$or`; a position must be ANDed with it, not replace it."""
    client = storage.connect(mongo.url)
    try:
        collection = client["t_paging"]["sessions"]
        await collection.delete_many({})
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        await collection.insert_many([
            {"_id": f"s-{n:02d}", "queue": "billing" if n % 2 else "complaints", "agent_id": "",
             "create_time": start + dt.timedelta(minutes=n)} for n in range(20)])
        visible = {"$or": [{"agent_id": "A-1"}, {"queue": {"$in": ["billing"]}}]}
        sort = [("create_time", DESCENDING), ("_id", DESCENDING)]
        served: list[str] = []
        request = PageRequest(size=3)
        while True:
            page = await storage.find_page(collection, visible, sort, request)
            served += [d["_id"] for d in page.items]
            if page.next_after is None:
                break
            request = PageRequest(size=3, after=page.next_after)
        assert served == [f"s-{n:02d}" for n in range(19, 0, -2)]
        with pytest.raises(InvalidArgument):
            await storage.find_page(collection, visible, [("_id", ASCENDING)], PageRequest(3, ("a", "b")))
    finally:
        await client.close()
