"""Multi-document transactions that give up in time, and that a crashed process cannot leave
holding documents for long.

A transaction that meets a write conflict is run again from its start, at most
`conflict_retries` times (each counted and logged), then raises `TransientError`: the event being
handled goes back to the bus for later and the consumer goes on with other customers' events,
instead of waiting up to two minutes in PyMongo's `with_transaction` for a lock that a dead
process holds. Each run is also cut off after `max_seconds`.

What a kill -9 leaves behind: the server keeps the dead process's open transaction, and its
locks, until the transaction's lifetime ends (60 s by default in MongoDB and SecantusDB; a
service's database user may not change `transactionLifetimeLimitSeconds`, and SecantusDB has no
such parameter). So each process holds a lease (`TransactionLeases`): a document naming the
server sessions its transactions use, renewed every third of `max_seconds`. Any replica that finds
a lease not renewed for its holder's `max_seconds` ends that holder's sessions with `killSessions` (a user
may kill its own sessions), which aborts their transactions and frees the documents.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bson.binary import UUID_SUBTYPE, Binary
from opentelemetry import metrics
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from omni.runtime.clock import utcnow
from omni.runtime.failure_kinds import Contended, TransientError

log = logging.getLogger("omni.transactions")

LEASES = "transaction_leases"
_conflicts = metrics.get_meter("omni.transactions").create_counter(
    "omni.transactions.conflicts", unit="{conflict}", description="transactions run again after a write conflict")


class TransactionLeases:
    """This process's lease on the server sessions its transactions use, and the reaper of dead ones."""

    def __init__(self, client: AsyncMongoClient[Any], db: AsyncDatabase[Any], ttl: float) -> None:
        self._client = client
        self._collection = db[LEASES]
        self.ttl = ttl
        self.holder = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # The ids of the server sessions this process's transactions ran on.
        self._sessions: set[bytes] = set()

    async def register(self, session: AsyncClientSession) -> None:
        """Name `session` in the lease before a transaction runs on it (a write only for a server
        session not seen before: the driver reuses a small pool of them)."""
        key = bytes(session.session_id["id"])
        if key in self._sessions:
            return
        self._sessions.add(key)
        await self._renew()

    async def _renew(self) -> None:
        await self._collection.update_one(
            {"_id": self.holder},
            {"$set": {"renewed_at": utcnow(), "ttl": self.ttl, "sessions": [Binary(key) for key in self._sessions]}},
            upsert=True)

    async def reap(self) -> int:
        """End the sessions of every holder whose lease ran out; how many holders."""
        now = utcnow().timestamp()
        reaped = 0
        async for lease in self._collection.find({"_id": {"$ne": self.holder}}):
            # Each holder's own lease time: replicas may be configured differently during a rollout.
            renewed = lease.get("renewed_at")
            if renewed is not None and renewed.timestamp() > now - float(lease.get("ttl", self.ttl)):
                continue
            if lease.get("sessions"):
                await self._client.admin.command(
                    {"killSessions": [{"id": Binary(bytes(key), UUID_SUBTYPE)} for key in lease["sessions"]]})
            # Only the lease as read: a holder that was merely slow has renewed it meanwhile.
            await self._collection.delete_one({"_id": lease["_id"], "renewed_at": renewed})
            log.warning("ended the transactions of %s, whose lease ran out (%d session(s))", lease["_id"],
                        len(lease.get("sessions", [])))
            reaped += 1
        return reaped

    async def keep(self) -> None:
        """Renew this lease and reap dead ones every third of the lease, until cancelled."""
        failing = False
        while True:
            try:
                await self._renew()
                await self.reap()
            except Exception as exc:  # MongoDB away: this lease and the others wait for it
                if not failing:
                    log.warning("cannot renew the transaction lease (%s: %s); trying again", type(exc).__name__, exc)
                failing = True
            else:
                failing = False
            await asyncio.sleep(self.ttl / 3)

    async def release(self) -> None:
        """At a clean stop; if MongoDB is away, the lease simply runs out and is reaped."""
        with contextlib.suppress(PyMongoError):
            await self._collection.delete_one({"_id": self.holder})


class Transactions:
    """Runs a transaction body with bounded conflict retries and a time limit (see the module's doc)."""

    def __init__(self, client: AsyncMongoClient[Any], *, conflict_retries: int = 5, max_seconds: float = 5.0,
                 leases: TransactionLeases | None = None) -> None:
        self._client = client
        self._retries = conflict_retries
        self._max_seconds = max_seconds
        self._leases = leases

    async def run(self, body: Callable[[AsyncClientSession], Awaitable[None]], what: str) -> None:
        """Run `body` in a transaction until it commits. `what` names the work in logs."""
        attempt = 0
        while True:
            attempt += 1
            async with self._client.start_session() as session:
                if self._leases is not None:
                    await self._leases.register(session)
                try:
                    async with asyncio.timeout(self._max_seconds):
                        await self._commit(session, body)
                    return
                except PyMongoError as exc:
                    if not exc.has_error_label("TransientTransactionError"):
                        raise
                    _conflicts.add(1)
                    if attempt > self._retries:
                        log.warning("%s met a write conflict %d times; sent back for later: %s", what, attempt, exc)
                        raise Contended(f"{what}: write conflict persisted over {attempt} tries") from exc
                    log.info("%s met a write conflict (try %d of %d); running it again", what, attempt,
                             self._retries + 1)
                except TimeoutError as exc:
                    raise TransientError(f"{what}: transaction ran longer than {self._max_seconds:g}s") from exc
            # Jittered, so that writers that collided do not collide again in step.
            await asyncio.sleep(random.uniform(0.5, 1.0) * min(1.0, 0.05 * 2 ** attempt))

    @staticmethod
    async def _commit(session: AsyncClientSession, body: Callable[[AsyncClientSession], Awaitable[None]]) -> None:
        await session.start_transaction()
        try:
            await body(session)
        except BaseException:
            if session.in_transaction:
                with contextlib.suppress(PyMongoError):
                    await session.abort_transaction()
            raise
        while True:
            try:
                await session.commit_transaction()
                return
            except PyMongoError as exc:
                # The commit may or may not have happened: sending it again is safe and settles it.
                if not exc.has_error_label("UnknownTransactionCommitResult"):
                    raise


__all__ = ["LEASES", "TransactionLeases", "Transactions"]
