"""The mail parser's worker processes end with the service, even when it is killed with SIGKILL
(a SIGKILL gives it no chance to shut its pool down)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys

from tests.support.polling import eventually

# A service in miniature: a parser that has parsed one mail (so its worker runs), then waits.
SERVICE = """
import asyncio
from omni.sessions.domain.mime import MailLimits
from omni.sessions.mail_parsing import MailParser

async def main():
    parser = MailParser(MailLimits(attachment_bytes=1000), workers=1)
    await parser.parse(b"From: a@example.com\\r\\nSubject: hi\\r\\n\\r\\nhello\\r\\n")
    print("parsed", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for good; only its parent has yet to read its status.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_a_killed_service_leaves_no_mail_parsing_worker_behind() -> None:
    service = subprocess.Popen([sys.executable, "-c", SERVICE], stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
    try:
        assert service.stdout is not None
        assert service.stdout.readline() == "parsed\n"
        # Its children: the parsing worker, and multiprocessing's resource tracker.
        with open(f"/proc/{service.pid}/task/{service.pid}/children") as found:  # noqa: ASYNC230
            workers = [int(pid) for pid in found.read().split()]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
        service.send_signal(signal.SIGKILL)
        service.wait()
        for pid in workers:
            await eventually(functools.partial(_still, pid), lambda alive: not alive, what=f"process {pid} gone")
    finally:
        service.kill()
        service.wait()


async def _still(pid: int) -> bool:
    return _alive(pid)
