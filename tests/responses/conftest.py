"""Pages really sent through the stand-ins and requests signed the way Twilio and Slack
sign them: the settings for both, and the telephony fixture. The helpers the tests call are
in tests/support/answering.py."""

from __future__ import annotations

import pytest

from tests.support.answering import PUBLIC, SLACK_SECRET


@pytest.fixture(autouse=True)
def _public_base_url(settings):
    """Behind a proxy: Twilio signs the public URL, not the Host the request arrives with."""
    settings.TOCSIN_PUBLIC_BASE_URL = PUBLIC
    settings.SLACK_SIGNING_SECRET = SLACK_SECRET


@pytest.fixture
def tele(real_providers, twilio_standin):
    return twilio_standin
