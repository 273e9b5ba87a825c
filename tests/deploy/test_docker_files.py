"""Docker can't run here, so check by reading that every command the files run exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

from workers.routes import QUEUE_NAMES

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = (ROOT / "docker" / "entrypoint.sh").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()


def _import_target(target: str):
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def _entrypoint_roles() -> set[str]:
    return set(re.findall(r"^\s{2}([a-z]+)\)$", ENTRYPOINT, flags=re.MULTILINE))


def test_every_compose_service_of_our_image_runs_a_known_role():
    roles = _entrypoint_roles()
    ours = {name: svc for name, svc in COMPOSE["services"].items() if "build" in svc or "image" in svc
            and svc.get("image", "").startswith("tocsin")}
    assert {"web", "stream", "worker", "beat", "flower"} <= set(ours)
    for name, service in ours.items():
        assert service["command"][0] in roles, f"{name} runs unknown role {service['command']}"


def test_manage_py_commands_in_entrypoint_exist():
    commands = set(re.findall(r"python manage\.py ([a-z_]+)", ENTRYPOINT + DOCKERFILE))
    assert commands
    assert commands <= set(get_commands()), commands - set(get_commands())


def test_gunicorn_and_celery_targets_import():
    for target in re.findall(r"gunicorn ([\w.]+:\w+)", ENTRYPOINT):
        assert callable(_import_target(target))
    uvicorn_targets = re.findall(r"uvicorn ([\w.]+:\w+)", ENTRYPOINT)
    assert uvicorn_targets
    for target in uvicorn_targets:
        assert callable(_import_target(target))
    for app_module in re.findall(r"celery -A ([\w.]+)", ENTRYPOINT):
        assert hasattr(importlib.import_module(app_module), "app")
    for scheduler in re.findall(r"--scheduler ([\w.]+:\w+)", ENTRYPOINT):
        assert _import_target(scheduler)


def test_worker_queues_match_the_route_table():
    queues = re.search(r"CELERY_QUEUES:-([a-z,]+)", ENTRYPOINT).group(1).split(",")
    assert set(queues) == set(QUEUE_NAMES)


@pytest.mark.parametrize("path", re.findall(r"^COPY (?:--\S+ )*(\S+) ", DOCKERFILE, flags=re.MULTILINE))
def test_dockerfile_copies_files_that_exist(path):
    assert (ROOT / path).exists()


def test_image_runs_as_non_root():
    assert re.search(r"^USER (?!root)\w+", DOCKERFILE, flags=re.MULTILINE)


def test_compose_healthchecks_and_volumes():
    services = COMPOSE["services"]
    for name in ("postgres", "redis", "web", "stream"):
        assert "healthcheck" in services[name]
    assert "postgres-data" in COMPOSE["volumes"]


def test_production_settings_pass_check_deploy():
    import subprocess
    import sys

    from cryptography.fernet import Fernet

    from tests.support.processes import child_environment

    env = child_environment(DJANGO_ENV="production", DJANGO_SECRET_KEY="k7#Qp2!vZ9@mL4&xR8^tB1*wN6(yH3)cJ5-gF0=sD" * 2,
                            DJANGO_ALLOWED_HOSTS="tocsin.example.com",
                            TOCSIN_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
                            TOCSIN_AUDIT_KEYS="k1:" + "a7" * 32)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
