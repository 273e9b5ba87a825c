from tests.notifications.conftest import make_channel, make_policy, raise_alert  # noqa: F401
