"""Who an inbound email is from, as far as customers go (docs/tickets.md, "Identity rules").

Threading headers and ticket tokens are written by whoever sends the mail, so they may place a
mail on a ticket but never decide who the customer is. The customer of a threaded mail is the
ticket's customer; a sender who is not one of that customer's identities is a participant (a
colleague forwarding, a spouse, an attacker who knows a Message-ID): shown as a third party,
never linked, never given access, never sent replies unless an agent chooses to. Only a mail
that threads nowhere finds its customer by the sender's address (and links it when it is
nobody's); automated mail never makes a customer, and an unverified sender's address is never
linked to anyone (a new customer made for it holds no identity until an agent links one).
"""

from __future__ import annotations

import dataclasses

from omni.tickets.domain.identities import Identity


@dataclasses.dataclass(frozen=True)
class Sender:
    # The From address as an identity; None when it was no address.
    identity: Identity | None
    # An auto-reply or bounce: a machine, not a person speaking.
    automatic: bool = False
    # The receiving MTA found DMARC/SPF/DKIM failing.
    unverified: bool = False


@dataclasses.dataclass(frozen=True)
class Standing:
    """The customer an email is filed under and what it may do to customer records."""

    # '' with `new_customer` false: nobody (automated mail that threads nowhere).
    customer_id: str = ""
    new_customer: bool = False
    # The sender's address is linked to the customer (it was nobody's).
    link_identity: bool = False
    # The sender is not the customer: a participant of the ticket.
    third_party: bool = False
    # A person's mail that threads nowhere: the customer is found (or made) by the presented
    # identities and the sender's address, linking the unowned ones, as for phone and chat.
    by_identities: bool = False
    rule: str = ""


def standing(sender: Sender, *, thread_customer: str, owner: str) -> Standing:
    """`thread_customer`: the customer of the ticket the mail threads to by its headers or token
    (''  when it threads nowhere); `owner`: the customer the sender's address belongs to ('')."""
    if thread_customer:
        if owner == thread_customer:
            return Standing(thread_customer, rule="threaded:customer")
        if sender.automatic:
            return Standing(thread_customer, rule="threaded:automatic")
        return Standing(thread_customer, third_party=True, rule="threaded:third_party")
    if not sender.automatic and not sender.unverified:
        return Standing(by_identities=True, rule="by_identities")
    if owner:
        return Standing(owner, rule="known_sender")
    if sender.automatic:
        return Standing(rule="automatic_unclaimed")
    return Standing(new_customer=True, rule="new_sender:unverified")


# A ticket names at most this many participants (a mail to a list must not grow it without end).
MAX_PARTICIPANTS = 20


def join_as_participant(participants: list[str], address: str) -> bool:
    """Add `address` to a ticket's participants; False when it was there or the list is full."""
    if not address or address in participants or len(participants) >= MAX_PARTICIPANTS:
        return False
    participants.append(address)
    return True
