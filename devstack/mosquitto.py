"""The MQTT broker for `make run` and `make test`, by the rule of docs/architecture.md.

1. `MQTT_URL` from the environment when set (a broker run elsewhere).
2. Else Debian's `mosquitto` started under `var/mosquitto` with the config Tocsin generates
   (`manage.py mqtt_broker_config`), installed with apt-get when missing and possible.
3. Else plants over MQTT are off, said clearly; everything else runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from devstack.services import ROOT, log

LOCAL_PORT = int(os.environ.get("TOCSIN_MQTT_PORT", "8883"))
BROKER_DIR = ROOT / "var" / "mosquitto"
_LOCAL_FLAG = "TOCSIN_MQTT_LOCAL_BROKER"


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (path for path in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(path)), None)


def ensure_mosquitto() -> str | None:
    """Install Debian's mosquitto when missing (CI machines start without it), as for chromium."""
    binary = mosquitto_binary()
    if binary:
        return binary
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        log("mosquitto is missing and cannot be installed here (no root or apt-get)")
        return None
    log("installing mosquitto for plants over MQTT (apt-get)")
    quiet = {"stdout": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
    subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)
    subprocess.run(["apt-get", "install", "-y", "-qq", "mosquitto"], check=False, **quiet)
    # Debian's package starts a system broker on 1883; Tocsin runs its own, so stop that one.
    subprocess.run(["service", "mosquitto", "stop"], check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    binary = mosquitto_binary()
    if not binary:
        log("could not install mosquitto; the MQTT tests will be skipped")
    return binary


def prepare_run(env: dict[str, str]) -> None:
    """Decide the broker of `make run`; sets MQTT_URL (and the local broker's files) in `env`."""
    if env.get("MQTT_URL"):
        log(f"MQTT: using MQTT_URL from the environment ({env['MQTT_URL']})")
        return
    if ensure_mosquitto() is None:
        log("MQTT: no broker (set MQTT_URL or install mosquitto): plants over MQTT are OFF; "
            "plants still report over REST and gateways can be provisioned later")
        return
    env["MQTT_BROKER_DIR"] = str(BROKER_DIR)
    subprocess.run([sys.executable, "manage.py", "mqtt_broker_config", "--dir", str(BROKER_DIR),
                    "--port", str(LOCAL_PORT)], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    env["MQTT_URL"] = f"mqtts://127.0.0.1:{LOCAL_PORT}"
    env[_LOCAL_FLAG] = "1"
    log(f"MQTT: local mosquitto on {env['MQTT_URL']} (config and CA in var/mosquitto)")


def processes(env: dict[str, str]) -> dict[str, str]:
    """The broker (when run locally) and one bridge; nothing when MQTT is off."""
    table: dict[str, str] = {}
    if env.get(_LOCAL_FLAG):
        binary = mosquitto_binary()
        # The pid file lets a revocation make the broker reread its CRL at once (SIGHUP).
        config, pidfile = BROKER_DIR / "mosquitto.conf", BROKER_DIR / "mosquitto.pid"
        table["mosquitto"] = f"echo $$ > {pidfile}; exec {binary} -c {config}"
    if env.get("MQTT_URL"):
        # One bridge on the plain subscription: lossless across broker restarts (README).
        table["mqtt-bridge"] = f"{sys.executable} manage.py mqtt_bridge --client-id tocsin-bridge-dev --shared no"
    return table
