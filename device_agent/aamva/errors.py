"""The one exception the AAMVA parser lets out."""

from __future__ import annotations


class AamvaParseError(ValueError):
    """The scan is not a readable driver-licence or ID-card barcode.

    ``str(error)`` is short and phrased for the person at the till ("date of birth missing"),
    so the agent can show it as is and let them check the card by eye.
    """
