"""``python -m device_agent enroll|run|status|flush``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from device_agent.config import QR_ENV, SETUP_TOKEN_ENV, AgentConfig, LoadedConfig, load_config
from device_agent.http_client import ApiError, RejectedRequest, TransientApiError
from device_agent.logging_setup import configure_logging
from device_agent.runner import Agent, offline_status

log = logging.getLogger(__name__)

EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_UNREACHABLE = 4
LOCAL_FLUSH_SECONDS = 60.0
STATUS_QUERY_SECONDS = 2.0
FORCE_BATCH_QUERY_SECONDS = 35.0


def enrolment_input(
    setup_token: str | None,
    location_id: str | None,
    qr: str | None,
    env: Mapping[str, str],
    config: AgentConfig,
) -> tuple[str, str] | None:
    """(setup token, location) from the command line, else the environment, else None.

    The QR code shown by the server holds ``{"setup_token": ..., "location_id": ...}``; a
    location given separately (argument or config) is used when the token comes alone.
    """
    qr = qr or (None if setup_token else env.get(QR_ENV))
    if qr:
        try:
            data = json.loads(qr)
        except ValueError:
            raise ValueError("the QR text is not JSON") from None
        if not isinstance(data, dict) or not data.get("setup_token"):
            raise ValueError('the QR JSON must be {"setup_token": ..., "location_id": ...}')
        setup_token = str(data["setup_token"])
        location_id = location_id or (str(data["location_id"]) if data.get("location_id") else None)
    setup_token = setup_token or env.get(SETUP_TOKEN_ENV)
    location_id = location_id or config.location_id
    if not setup_token:
        return None
    if not location_id:
        raise ValueError("a location id is needed with the setup token (--location-id or config)")
    return setup_token, location_id


def enrolment_label(
    location_label: str | None, qr: str | None, env: Mapping[str, str], config: AgentConfig
) -> str | None:
    """Where the device is in its site (Room 305): the argument, else the QR code's
    ``location_label``, else the config's; None when nothing names it (the server then
    uses its setup token's, if any)."""
    if location_label:
        return location_label
    qr = qr or env.get(QR_ENV)
    if qr:
        try:
            data = json.loads(qr)
        except ValueError:
            data = None
        label = data.get("location_label") if isinstance(data, dict) else None
        if isinstance(label, str) and label:
            return label
    return config.location_label or None


def _print(document: dict[str, Any]) -> None:
    print(json.dumps(document, indent=2, sort_keys=True))


def _running_agent(
    config: AgentConfig, action: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]] | None:
    """Ask a running agent through its status API: (HTTP status, answer), or None when no
    agent answers. A running agent must do the work itself, or it would not notice it."""
    if not config.status_port:
        return None
    request = urllib.request.Request(  # noqa: S310 (a fixed loopback URL)
        f"http://127.0.0.1:{config.status_port}/api/{action}",
        data=None if body is None else json.dumps(body).encode("utf-8"),
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    timeout = STATUS_QUERY_SECONDS if body is None else FORCE_BATCH_QUERY_SECONDS
    try:
        with opener.open(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as answer:
        with answer:
            try:
                return answer.code, json.loads(answer.read())
            except ValueError:
                return None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def command_enroll(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    try:
        enrolment = enrolment_input(
            args.setup_token, args.location_id, args.qr, os.environ, loaded.config
        )
    except ValueError as exc:
        log.error("cannot enrol", extra={"fields": {"error": str(exc)}})
        return EXIT_USAGE
    if enrolment is None:
        log.error("cannot enrol: give --setup-token (or --qr, or TOCSIN_AGENT_SETUP_TOKEN)")
        return EXIT_USAGE
    label = enrolment_label(args.location_label, args.qr, os.environ, loaded.config)
    body = {"setup_token": enrolment[0], "location_id": enrolment[1]}
    if label:
        body["location_label"] = label
    answer = _running_agent(loaded.config, "register", body)
    if answer is not None:
        status, body = answer
        if status == 200:
            _print(body)
            return 0
        log.error("the running agent could not enrol", extra={"fields": body})
        return EXIT_UNREACHABLE if status == 502 else EXIT_REFUSED
    agent = Agent(loaded)
    try:
        result = agent.register(*enrolment, label)
        try:
            agent.site.refresh(agent.session)
        except ApiError as exc:
            log.warning("enrolled, but the site configuration could not be fetched yet",
                        extra={"fields": {"error": str(exc)}})
    except RejectedRequest as exc:
        log.error("enrolment refused", extra={"fields": {"error": str(exc)}})
        return EXIT_REFUSED
    except TransientApiError as exc:
        log.error("server unreachable; enrolment not done", extra={"fields": {"error": str(exc)}})
        return EXIT_UNREACHABLE
    finally:
        agent.outbox.close()
    _print(result)
    return 0


def command_run(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    try:
        enrolment = enrolment_input(None, None, None, os.environ, loaded.config)
        label = enrolment_label(None, None, os.environ, loaded.config)
        if enrolment is not None and label:
            enrolment = (*enrolment, label)
    except ValueError as exc:
        log.error("ignoring the enrolment input from the environment",
                  extra={"fields": {"error": str(exc)}})
        enrolment = None
    stop = threading.Event()
    stop_on_signals(stop)
    log.info("agent starting", extra={"fields": {"kind": loaded.config.kind,
                                                 "config": loaded.source}})
    return Agent(loaded).run(stop, enrolment)


def command_status(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    answer = _running_agent(loaded.config, "status")
    _print(answer[1] if answer else offline_status(loaded.config, loaded.problems))
    return 0


def command_flush(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    answer = _running_agent(loaded.config, "force-batch", {})
    if answer is not None:
        _print(answer[1])
        return 0 if answer[1].get("flushed") else 1
    agent = Agent(loaded)
    try:
        if not agent.identity.state.enrolled:
            log.error("cannot flush: the device is not enrolled")
            return EXIT_USAGE
        report = agent.sender.send_due(force=True, deadline=time.time() + LOCAL_FLUSH_SECONDS)
        counts = agent.outbox.counts()
    finally:
        agent.outbox.close()
    _print({**report.as_dict(), "pending": counts.fresh, "offline_queue_size": counts.retrying,
            "parked": counts.parked})
    return 0 if not report.failed else 1


def stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, _frame: Any) -> None:
        log.info("signal received; stopping", extra={"fields": {"signal": signum}})
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def _common_options(*, default) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=default,
                        help="config file (default /etc/tocsin-agent/config.json)")
    common.add_argument("--log-level", default=default,
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return common


def build_parser() -> argparse.ArgumentParser:
    """`--config` and `--log-level` work before or after the subcommand. The subcommand's
    copies default to SUPPRESS: otherwise its unset `--config` would overwrite the one given
    before it, and the agent would silently run on defaults."""
    parser = argparse.ArgumentParser(prog="python -m device_agent",
                                     parents=[_common_options(default=None)],
                                     description="Tocsin device agent")
    common = _common_options(default=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    enroll = commands.add_parser("enroll", parents=[common], help="enrol with a setup token")
    enroll.add_argument("--setup-token")
    enroll.add_argument("--location-id")
    enroll.add_argument("--qr", help='the QR JSON {"setup_token": ..., "location_id": ...}')
    enroll.add_argument("--location-label",
                        help="where the device is in its site, e.g. 'Room 305' "
                             "(else the QR's or the config's)")
    enroll.set_defaults(handler=command_enroll)
    commands.add_parser("run", parents=[common], help="run the agent").set_defaults(
        handler=command_run)
    commands.add_parser("status", parents=[common], help="print the agent's status").set_defaults(
        handler=command_status)
    commands.add_parser("flush", parents=[common], help="send everything held now").set_defaults(
        handler=command_flush)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    loaded = load_config(args.config)
    configure_logging(args.log_level or loaded.config.log_level)
    if args.command != "run":
        for problem in loaded.problems:
            log.warning("configuration problem", extra={"fields": {"problem": problem}})
    return int(args.handler(args, loaded))
