"""Whether a contact that ended gets a satisfaction survey, how it reaches the customer, and who
"once a week" counts for.

Once per contact: the survey is kept on the contact's session and set at most once. Once a week
per customer: the use case claims the customer's key (`customer_key`) for the minimum interval
before asking; a contact whose customer was asked within it gets none.
"""

from __future__ import annotations

import datetime as dt

from omni.runtime.channels import Channel
from omni.sessions.domain.model import Session, State
from omni.sessions.domain.survey import Delivery, Survey

_DELIVERIES = {Channel.CHAT: Delivery.WIDGET, Channel.EMAIL: Delivery.EMAIL_LINK, Channel.PHONE: Delivery.SMS_REQUEST}
# Where each delivery reaches the customer: the identity kind it needs (the widget needs none).
_ADDRESS_KIND = {Delivery.EMAIL_LINK: "email", Delivery.SMS_REQUEST: "phone"}


def language_of(session: Session) -> str:
    return "zh" if session.language.lower().startswith("zh") else "en"


def customer_key(session: Session) -> str:
    """Who "once a week" counts for: the customer when tickets linked one, else the channel identity."""
    if session.customer_id:
        return f"customer:{session.customer_id}"
    for identity in session.identities:
        return f"{identity.kind}:{identity.value.lower()}"
    return f"session:{session.id}"


def survey_for(session: Session, at: dt.datetime) -> Survey | None:
    """The survey to ask for a contact that just ended, or None: only contacts a person handled
    (not abandoned, not answered by the self-service bot alone), once, where the channel can reach
    the customer."""
    if session.state is not State.ENDED or not session.agent_id or session.survey is not None:
        return None
    delivery = _DELIVERIES.get(session.channel)
    if delivery is None:
        return None
    address = ""
    if (kind := _ADDRESS_KIND.get(delivery)) is not None:
        address = next((i.value for i in session.identities if i.kind == kind), "")
        if not address:
            return None
    return Survey(language=language_of(session), delivery=delivery, ask_time=at, agent_id=session.agent_id,
                  ticket_id=session.ticket_id, address=address)
