"""Phone numbers as Tocsin stores them: E.164, whatever form they were typed in.

Invariant: every number a person types (a channel's target, a person's sms or voice contact
method) is parsed and stored the same way, so a provider's inbound call or reply, which
names the number in E.164, matches the stored one exactly; a number that is not valid is
refused with the same message everywhere, on the field it was typed in.
"""

from __future__ import annotations

import phonenumbers

from apps.common.errors import ApplicationError


def phone_number_normalise(text: str, *, field: str) -> str:
    """`text` in E.164 form; raises ApplicationError naming `field`."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise _invalid("Enter the number in E.164 form, e.g. +351912345678.", field) from exc
    if not phonenumbers.is_valid_number(number):
        raise _invalid("This is not a valid phone number.", field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _invalid(message: str, field: str) -> ApplicationError:
    return ApplicationError(message, fields={field: [message]})
