"""No scan is lost and none is counted twice: SIGKILL mid-flush, and a power cut before send.

A real agent subprocess reads barcodes on stdin and is killed with SIGKILL; the stand-in
server deduplicates by scan_id as the real one does.
"""

from __future__ import annotations

import random
import subprocess
import threading
from collections import Counter
from datetime import date
from pathlib import Path

from agent_tools.synthetic_licences import random_licence
from device_agent.config import AgentConfig
from device_agent.runner import Agent
from tests.device_agent.standin_server import StandinServer, StandinState
from tests.support.agent import (
    AgentProcess,
    free_port,
    get_json,
    loaded,
    post_json,
    wait_for,
    write_config,
)


def enrol_in_place(config: AgentConfig, setup_token: str) -> None:
    """Enrol and cache the site config the way `enroll` does, before the agent runs."""
    agent = Agent(loaded(config))
    try:
        agent.register(setup_token, "loc-1")
        agent.site.refresh(agent.session)
    finally:
        agent.outbox.close()


def barcodes(count: int, seed: int) -> tuple[str, Counter]:
    rng = random.Random(seed)
    cards = [random_licence(rng, date.today(), underage=rng.random() < 0.1) for _ in range(count)]
    return "".join(c.barcode_text() for c in cards), Counter(c.date_of_birth.year for c in cards)


def queued(base: str, kind: str | None = None) -> int:
    """Items (of one kind) the running agent holds, or -1 while it doesn't answer."""
    try:
        status = get_json(base + "/api/status")
    except OSError:
        return -1
    if kind is not None:
        return status["queued_by_kind"].get(kind, 0)
    return status["pending"] + status["offline_queue_size"]


def force_batch(base: str) -> None:
    """Ask the agent to send now; it is killed while answering, so no answer is expected."""
    try:
        post_json(base + "/api/force-batch", {})
    except OSError:
        return


def start_agent(tmp_path: Path, config_path: Path, processes: list, name: str) -> AgentProcess:
    process = AgentProcess(["run", "--config", str(config_path)], tmp_path / f"{name}.log",
                           stdin=subprocess.PIPE)
    processes.append(process)
    return process


def test_sigkill_in_the_middle_of_a_flush_loses_nothing(tmp_path: Path, make_config,
                                                        agent_processes) -> None:
    state = StandinState()
    server = StandinServer(state).start()
    port, status_port = server.port, free_port()
    config = make_config(api_base_url=server.url, status_port=status_port,
                         heartbeat_interval_seconds=3600, request_timeout_seconds=5)
    enrol_in_place(config, state.issue_setup_token("loc-1"))
    server.stop()  # the server is down from here on

    config_path = write_config(tmp_path / "config.json", api_base_url=config.api_base_url,
                               state_dir=config.state_dir, status_port=status_port,
                               heartbeat_interval_seconds=3600, batch_size=10,
                               request_timeout_seconds=5, scanner_input="stdin")
    base = f"http://127.0.0.1:{status_port}"
    agent = start_agent(tmp_path, config_path, agent_processes, "first")
    text, birth_years = barcodes(1000, seed=1)
    agent.write(text)
    wait_for(lambda: queued(base, "scan") == 1000, timeout=60, interval=0.2)

    state.scan_batch_delay = 2.0  # the server stores each batch, then answers slowly
    server = StandinServer(state, port=port).start()
    threading.Thread(target=force_batch, args=(base,), daemon=True).start()
    wait_for(lambda: state.scan_batches, timeout=20)
    agent.kill()  # SIGKILL while the first batch is stored but not yet acknowledged
    assert len(state.scans) < 1000

    state.scan_batch_delay = 0.0
    agent = start_agent(tmp_path, config_path, agent_processes, "second")
    wait_for(lambda: queued(base) == 0 and len(state.scans) == 1000, timeout=30, interval=0.2)
    server.stop()

    assert len(state.scans) == 1000
    assert state.scan_duplicates > 0, "the interrupted batch was sent again and absorbed"
    assert Counter(s["birth_year"] for s in state.scans.values()) == birth_years
    first_batch = state.scan_batches[0]
    assert first_batch in state.scan_batches[1:], "resent under the same batch_id"


def test_a_power_cut_between_write_and_send_loses_nothing(tmp_path: Path, make_config,
                                                          standin: StandinServer,
                                                          agent_processes) -> None:
    status_port = free_port()
    config = make_config(status_port=status_port)
    enrol_in_place(config, standin.state.issue_setup_token("loc-1"))
    settings = dict(api_base_url=standin.url, state_dir=config.state_dir,
                    status_port=status_port, heartbeat_interval_seconds=3600,
                    scanner_input="stdin")
    config_path = write_config(tmp_path / "config.json", **settings)
    base = f"http://127.0.0.1:{status_port}"
    # The site's configuration (which wins over the local one) holds scans back for now.
    standin.state.site_config.update(batch_size=500, batch_timeout_seconds=3600)
    agent = start_agent(tmp_path, config_path, agent_processes, "held")
    text, birth_years = barcodes(100, seed=2)
    agent.write(text)
    wait_for(lambda: queued(base, "scan") == 100, timeout=30, interval=0.1)
    agent.kill()  # written and fsynced, never sent
    assert standin.state.scans == {}

    standin.state.site_config.update(batch_size=10)
    start_agent(tmp_path, config_path, agent_processes, "after")
    wait_for(lambda: len(standin.state.scans) == 100 and queued(base) == 0, timeout=30)
    assert Counter(s["birth_year"] for s in standin.state.scans.values()) == birth_years
    assert standin.state.scan_duplicates == 0
