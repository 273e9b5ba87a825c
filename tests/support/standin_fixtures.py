"""pytest fixtures for the provider stand-ins (see tests/support/standins.py).

Import them into a conftest with ``from tests.support.standin_fixtures import *  # noqa``.
Each fixture is function-scoped: the stand-in is started before the test and stopped after
it. Constructor arguments can be overridden with indirect parametrisation, e.g.
``@pytest.mark.parametrize("webhook_receiver", [{"require_signature": False}], indirect=True)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.standins import SlackStandIn, SmtpStandIn, TwilioStandIn, WebhookReceiver
from tests.support.teams_standin import TeamsStandIn

__all__ = ["slack_standin", "smtp_standin", "teams_standin", "twilio_standin", "webhook_receiver"]


def _kwargs(request: pytest.FixtureRequest) -> dict:
    return dict(getattr(request, "param", None) or {})


@pytest.fixture
def twilio_standin(request: pytest.FixtureRequest) -> Iterator[TwilioStandIn]:
    """A Twilio Messages API on 127.0.0.1; credentials in ``.account_sid`` / ``.auth_token``."""
    with TwilioStandIn(**_kwargs(request)) as standin:
        yield standin


@pytest.fixture
def slack_standin(request: pytest.FixtureRequest) -> Iterator[SlackStandIn]:
    """Slack's Web API (``.api_url``, token ``.token``) and an incoming webhook (``.webhook_url``)."""
    with SlackStandIn(**_kwargs(request)) as standin:
        yield standin


@pytest.fixture
def smtp_standin(request: pytest.FixtureRequest) -> Iterator[SmtpStandIn]:
    """An SMTP server at ``.host`` / ``.port`` (no TLS, no AUTH)."""
    with SmtpStandIn(**_kwargs(request)) as standin:
        yield standin


@pytest.fixture
def webhook_receiver(request: pytest.FixtureRequest) -> Iterator[WebhookReceiver]:
    """A signed-webhook endpoint; ``.url(path)`` to address it, secret in ``.secret``."""
    with WebhookReceiver(**_kwargs(request)) as standin:
        yield standin


@pytest.fixture
def teams_standin(request: pytest.FixtureRequest) -> Iterator[TeamsStandIn]:
    """A Teams workflow's HTTP trigger; post to ``.workflow_url``."""
    with TeamsStandIn(**_kwargs(request)) as standin:
        yield standin
