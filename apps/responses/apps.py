from django.apps import AppConfig


class ResponsesConfig(AppConfig):
    """Answering a page from where it arrived: SMS replies, voice key presses, Slack buttons,
    email links. Above notifications: it reads what was paged to whom, and acts through the
    alert engine's services."""

    name = "apps.responses"
    label = "responses"
