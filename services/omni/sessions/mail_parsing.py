"""Inbound mail is parsed in worker processes, never on the service's event loop.

Parsing a large or hostile MIME message is pure CPU (seconds for ten thousand parts): on the
event loop it would stall every chat, RPC and SMTP session of the process meanwhile, and in a
thread it would still hold the interpreter lock. The pool has a fixed number of processes, and a
semaphore lets only that many mails in at once, so mails waiting for a worker hold no more than
their bytes (the SMTP session cap bounds those).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import multiprocessing
import multiprocessing.connection
import os
import threading

from omni.sessions.domain.mime import MailLimits, ParsedEmail, parse_email


class MailParser:
    def __init__(self, limits: MailLimits, *, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"mail parsing needs at least one worker process (got {workers})")
        self._limits = limits
        self._slots = asyncio.Semaphore(workers)
        # spawn: a fork of a process with gRPC and NATS threads running is not safe.
        self._pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                                            initializer=_exit_with_the_service)

    async def parse(self, raw: bytes) -> ParsedEmail:
        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, functools.partial(parse_email, raw, self._limits))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _exit_with_the_service() -> None:
    """In a worker: end when the service process does. A service killed with SIGKILL never shuts
    its pool down, and its workers would wait on their queue for good (each holds a pipe's both
    ends, so it never reads an end of file): a restarted service would gather them."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="exit with the service", daemon=True).start()
