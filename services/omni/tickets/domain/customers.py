"""Rules of customer records: the limits a customer keeps, the record of a customer first met
in an interaction, and what two customers merged into one keep of each."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable

from omni.runtime.errors import InvalidArgument, NotFound
from omni.runtime.validation import check_length
from omni.tickets.domain.model import Customer, Interaction, Limits

LANGUAGE_CHARS = 35
# A name a channel presents is cut to this (a mail From: can be long).
PRESENTED_NAME_CHARS = 200


def check_fields(customer: Customer, limits: Limits) -> None:
    check_length(customer.display_name, "display_name", limits.max_name_chars)
    check_length(customer.language, "language", LANGUAGE_CHARS)
    check_length(customer.tier, "tier", limits.max_tag_chars)
    if len(customer.tags) > limits.max_tags:
        raise InvalidArgument(f"a customer has at most {limits.max_tags} tags; you sent {len(customer.tags)}")
    for tag in customer.tags:
        check_length(tag, "tag", limits.max_tag_chars)


def first_met(interaction: Interaction, customer_id: str, now: dt.datetime) -> Customer:
    """A customer nobody knew before `interaction`, with the name and language it presented."""
    return Customer(id=customer_id, display_name=interaction.display_name[:PRESENTED_NAME_CHARS],
                    language=interaction.language, created_at=now, updated_at=now)


def merged(source: Customer, target: Customer) -> Customer:
    """`target` with `source` merged into it: every identity and tag of both, the target's profile
    with the source's filling its gaps, no conflict left between the two, and the source (with
    the customers merged into it before) named as merged from."""
    return dataclasses.replace(
        target,
        identities=target.identities + [i for i in source.identities if i not in target.identities],
        tags=sorted(set(target.tags) | set(source.tags)),
        tier=target.tier or source.tier,
        language=target.language or source.language,
        display_name=target.display_name or source.display_name,
        last_agent_id=target.last_agent_id or source.last_agent_id,
        preferred_agent_id=target.preferred_agent_id or source.preferred_agent_id,
        conflicts=[c for c in target.conflicts + source.conflicts
                   if c.owner_customer_id not in (source.id, target.id)],
        merged_from=[*target.merged_from,
                     *(i for i in (*source.merged_from, source.id) if i not in target.merged_from)],
        version=target.version + 1,
    )


async def following_merges(customer_id: str, find: Callable[[str], Awaitable[Customer | None]]) -> Customer:
    """The customer `customer_id` names, following merge redirects so old ids keep resolving (a
    redirect loop ends at the customer it comes back to)."""
    seen: set[str] = set()
    current = customer_id
    while True:
        customer = await find(current)
        if customer is None:
            raise NotFound(f"customer {customer_id} does not exist")
        if not customer.merged_into or customer.merged_into in seen:
            return customer
        seen.add(current)
        current = customer.merged_into
