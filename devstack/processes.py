"""The foreground processes of `make run`, under devstack's supervisor (restarted when
they crash, stopped together on Ctrl-C)."""

from __future__ import annotations

import os
import sys

from devstack import mosquitto
from devstack.services import ROOT, VAR, log
from devstack.supervisor import Supervisor

WEB_PORT = int(os.environ.get("TOCSIN_WEB_PORT", "8000"))
FLOWER_PORT = int(os.environ.get("TOCSIN_FLOWER_PORT", "5555"))
STREAM_PORT = int(os.environ.get("TOCSIN_STREAM_PORT", "8001"))
QUEUES = "critical,notify,default,maintenance,retry"
FLEET_DEVICES = int(os.environ.get("TOCSIN_FLEET_DEVICES", "30"))


def process_table(env: dict[str, str]) -> dict[str, str]:
    """name → shell command for every process of `make run`."""
    bin_dir = os.path.dirname(sys.executable)
    celery = os.path.join(bin_dir, "celery")
    # Each checkout's own gunicorn control socket: two stacks on one host never share one.
    control_socket = VAR / "run" / f"gunicorn-{WEB_PORT}.ctl"
    control_socket.parent.mkdir(parents=True, exist_ok=True)
    table = {
        "web": f"exec {os.path.join(bin_dir, 'gunicorn')} tocsin.wsgi:application --bind 127.0.0.1:{WEB_PORT} "
               f"--config docker/gunicorn.conf.py --control-socket {control_socket} "
               f"--workers {env.get('WEB_CONCURRENCY', '3')} --worker-class sync "
               f"--access-logfile - --log-level info",
        # The SSE stream (ASGI). No access log: stream tickets travel in query strings.
        "stream": f"exec {os.path.join(bin_dir, 'uvicorn')} tocsin.asgi:application --host 127.0.0.1 "
                  f"--port {STREAM_PORT} --no-access-log --timeout-graceful-shutdown 3",
        "worker": f"exec {celery} -A workers worker -Q {QUEUES} --concurrency 2 --loglevel INFO "
                  f"--hostname worker@%h",
        "beat": f"exec {celery} -A workers beat --loglevel INFO "
                f"--scheduler workers.heartbeats:HeartbeatScheduler",
        # Pages the operator tenant when beat, the workers or the outbox stop (not through Celery).
        "watchdog": f"exec {sys.executable} manage.py platform_watchdog",
        # Flower inspects the workers once, at start-up, for /api/workers; start it when ours answers.
        "flower": f"until {celery} -A workers inspect ping --timeout 2 -d worker@$(hostname) "
                  f">/dev/null 2>&1; do sleep 1; done; "
                  f"exec {celery} -A workers flower --port={FLOWER_PORT} --address=127.0.0.1",
    }
    table.update(mosquitto.processes(env))  # the MQTT broker and bridge, when MQTT is on
    if FLEET_DEVICES:
        # A simulated fleet (tablets, scanners, gateways) enrolled with the demo setup tokens,
        # so a new user sees alerts flowing within a minute. TOCSIN_FLEET_DEVICES=0 turns it off.
        table["fleet"] = (f"exec {sys.executable} -m agent_tools.simulator --server http://127.0.0.1:{WEB_PORT} "
                          f"--setup-tokens var/demo_setup_tokens.json --devices {FLEET_DEVICES} "
                          f"--state-dir var/simulator")
    return table


def _fresh_metrics_dir(env: dict[str, str]) -> None:
    """gunicorn workers share their Prometheus counters through files; start from none."""
    import shutil

    metrics_dir = ROOT / "var" / f"prometheus-{WEB_PORT}"  # per stack: another one's files stay
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)


def run_foreground(env: dict[str, str]) -> int:
    env.setdefault("FLOWER_BASIC_AUTH", "admin:tocsin-flower")
    env.setdefault("TOCSIN_STREAM_PUBLIC_URL", f"http://127.0.0.1:{STREAM_PORT}")
    log(f"web      http://127.0.0.1:{WEB_PORT}/  (admin: /admin/, API docs: /api/docs/)")
    log(f"board    http://127.0.0.1:{WEB_PORT}/board/  (live alert board, staff sign-in)")
    log(f"stream   {env['TOCSIN_STREAM_PUBLIC_URL']}/api/v1/stream/  (SSE; ticket from POST /api/v1/stream/ticket/)")
    log(f"ready    http://127.0.0.1:{WEB_PORT}/readyz   metrics: /metrics")
    log(f"flower   http://127.0.0.1:{FLOWER_PORT}/  (basic auth {env['FLOWER_BASIC_AUTH'].split(':')[0]})")
    _fresh_metrics_dir(env)
    log("a crashed process is restarted (with backoff); Ctrl-C stops them all")
    supervisor = Supervisor()
    for name, command in process_table(env).items():
        # Only the web workers share metric files; other processes keep their own counters.
        process_env = env if name == "web" else {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        supervisor.add(name, command, cwd=str(ROOT), env=process_env)
    return supervisor.run()
