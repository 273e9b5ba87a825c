"""The local status API answers on /api/... and on the old UI's /api/aws/... paths."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from device_agent.runner import Agent
from device_agent.status_api import StatusApiServer
from tests.device_agent.standin_server import StandinServer
from tests.support.agent import free_port, get_json, loaded, post_json, wait_for

STATUS_KEYS = {"registered", "device_id", "location_id", "token_expires", "batch_size",
               "pending", "offline_queue_size", "last_error"}


@pytest.fixture
def running_agent(make_config) -> Iterator[tuple[Agent, str]]:
    port = free_port()
    agent = Agent(loaded(make_config(status_port=port, scanner_input="none",
                                     heartbeat_interval_seconds=3600)))
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(base))
    yield agent, base
    stop.set()
    thread.join(15)
    assert not thread.is_alive()


def _answers(base: str) -> bool:
    try:
        get_json(base + "/api/status")
    except OSError:
        return False
    return True


@pytest.mark.parametrize("prefix", ["/api", "/api/aws"])
def test_register_status_and_force_batch(running_agent, standin: StandinServer,
                                         prefix: str) -> None:
    agent, base = running_agent
    status = get_json(f"{base}{prefix}/status")
    assert set(status) >= STATUS_KEYS
    assert status["registered"] is False and status["status"] == "unregistered"
    assert status["batch_size"] == 10

    assert post_json(f"{base}{prefix}/register", {"setup_token": "x"})[0] == 400
    code, body = post_json(f"{base}{prefix}/register",
                           {"setup_token": "wrong", "location_id": "loc-1"})
    assert (code, body["error"]["code"]) == (403, "enrollment_refused")
    token = standin.state.issue_setup_token("loc-1")
    code, body = post_json(f"{base}{prefix}/register",
                           {"setup_token": token, "location_id": "loc-1"})
    assert code == 200 and body == {"registered": True, "device_id": "dev-1",
                                    "location_id": "loc-1"}

    status = wait_for(lambda: (s := get_json(f"{base}{prefix}/status"))["status"] == "active"
                      and s)
    assert status["device_id"] == "dev-1" and status["token_expires"].endswith("Z")
    wait_for(lambda: standin.state.heartbeats, timeout=10)
    code, body = post_json(f"{base}{prefix}/force-batch", {})
    assert code == 200 and body["flushed"] is True and body["pending"] == 0


def test_wrong_paths_and_methods(running_agent) -> None:
    _, base = running_agent
    assert post_json(base + "/api/status", {})[0] == 405
    assert post_json(base + "/api/nothing", {})[0] == 404
    code, body = post_json(base + "/api/aws/register", "not an object")
    assert code == 400 and body["error"]["code"] == "invalid"


def test_server_unreachable_during_register_is_a_502(make_config) -> None:
    port = free_port()
    agent = Agent(loaded(make_config(status_port=port, scanner_input="none",
                                     api_base_url=f"http://127.0.0.1:{free_port()}")))
    api = StatusApiServer(agent, port)
    api.start()
    try:
        code, body = post_json(f"http://127.0.0.1:{port}/api/register",
                               {"setup_token": "t", "location_id": "loc-1"})
        assert code == 502 and body["error"]["code"] == "server_unreachable"
    finally:
        api.stop()
        agent.outbox.close()
