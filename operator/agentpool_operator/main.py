"""Kopf registrations and start-up settings only; the work is in handlers/ and the domain modules.

Run: `python -m agentpool_operator --namespace=NS` (or `kopf run -n NS --standalone -m agentpool_operator.main`).
"""

from __future__ import annotations

from typing import Any

import kopf

from agentpool_operator.handlers import handle_reconcile_pool, handle_scale_pool, handle_startup
from agentpool_operator.pool import GROUP, PLURAL, VERSION
from agentpool_operator.settings import OperatorSettings

# Kopf's timer decorator needs the interval when this module is imported, so only that one
# variable is read here (importing must not need the token secret); everything else reads the
# environment again at start-up, so a re-run in the same process (tests) sees fresh settings.
POLL_SECONDS: float = OperatorSettings.field_from_env("operator_poll_seconds")


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    return handle_startup.login(OperatorSettings.from_env(), **kwargs)


@kopf.on.startup()
async def startup(memo: kopf.Memo, settings: kopf.OperatorSettings, **_: Any) -> None:
    await handle_startup.start(OperatorSettings.from_env(), memo, settings)


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    await handle_startup.stop(memo)


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
async def reconcile(**kwargs: Any) -> None:
    await handle_reconcile_pool.reconcile(**kwargs)


@kopf.timer(GROUP, VERSION, PLURAL, interval=POLL_SECONDS, initial_delay=1.0)
async def scale(**kwargs: Any) -> None:
    await handle_scale_pool.scale(**kwargs)
