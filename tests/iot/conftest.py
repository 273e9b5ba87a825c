"""A real Mosquitto per test, configured by Tocsin, and helpers to act as a gateway."""

from __future__ import annotations

import shutil

import pytest

from tests.support.mosquitto import PrivateBroker


@pytest.fixture
def mqtt_broker(db, settings, tmp_path):
    if not shutil.which("mosquitto") and not shutil.os.path.exists("/usr/sbin/mosquitto"):
        pytest.skip("mosquitto is not installed (make test installs it)")
    broker = PrivateBroker(tmp_path / "broker")
    settings.MQTT_URL = broker.url
    settings.MQTT_BROKER_DIR = str(broker.directory)
    settings.MQTT_BROKER_PIDFILE = ""
    broker.start()
    yield broker
    broker.stop()
