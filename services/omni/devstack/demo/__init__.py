"""Demo data `omni run` loads through each service's public API, one module per service.

Every seed is idempotent (fixed ids and request ids), so the stack loads it on every start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from omni.devstack.demo import knowledge, routing, tickets

# Service name -> seed(address of that service, service token), in the order they are loaded.
SEEDS: dict[str, Callable[[str, str], Awaitable[None]]] = {
    "tickets": tickets.seed,
    "knowledge": knowledge.seed,
    "routing": routing.seed,
}
