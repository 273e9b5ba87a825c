"""devstack's supervisor: a crashed child comes back (with backoff), the others keep
running, and a stop ends every process group. Real processes, short commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.support.lifetime import die_with_parent

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import os, sys, threading
from devstack.supervisor import Supervisor
sup = Supervisor()
env = dict(os.environ)
sup.add("crasher", "echo up; sleep 0.1; exit 3", env=env, cwd=".")  # ran < 0.5 s, said "0 s", even under load
sup.add("steady", "exec sleep 300", env=env, cwd=".")
sup.add("forker", "sleep 300 & exec sleep 301", env=env, cwd=".")
sys.exit(sup.run())
"""


def _start(tmp_path):
    log = open(tmp_path / "supervisor.log", "wb")  # noqa: SIM115 (closed by the test)
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               preexec_fn=die_with_parent)
    return process, log


def _wait_for(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_crashing_child_is_restarted_with_backoff_and_the_others_keep_running(tmp_path):
    process, log = _start(tmp_path)
    text = lambda: (tmp_path / "supervisor.log").read_text()  # noqa: E731
    try:
        assert _wait_for(lambda: text().count("crasher | up") >= 3, timeout=20), text()
        steady = [p for p in psutil.Process(process.pid).children(recursive=True) if p.cmdline()[-1:] == ["300"]]
        assert steady and all(p.is_running() for p in steady)
        assert "crasher exited with 3 after 0 s; restarting in 1 s (restart 1)" in text()
        assert "restarting in 2 s (restart 2)" in text()
        assert text().count("steady started") == 1
    finally:
        descendants = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        log.close()
    # Every group stopped, including the forker's background child.
    gone, alive = psutil.wait_procs(descendants, timeout=5)
    assert not alive, [p.cmdline() for p in alive]
    assert "stopping every process" in text()


def test_make_stop_is_a_devstack_command():
    result = subprocess.run([sys.executable, "-m", "devstack", "--help"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ}, check=True)
    assert "stop" in result.stdout
