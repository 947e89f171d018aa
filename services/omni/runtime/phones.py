"""The one phone-number normaliser: E.164 via Google's libphonenumber port.

Sessions (caller ids, signed chat identities) and tickets (customer identities) must agree on
the form of a number, or the same caller becomes two customers.
"""

from __future__ import annotations

import phonenumbers


def to_e164(value: str, default_region: str = "") -> str | None:
    """`+8613800138000` for any way of writing that number; None when it is not a valid number.

    A number without a country code is read in `default_region` (ISO 3166 code); without one
    such a number cannot be read and None is returned.
    """
    text = value.strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, default_region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
