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


# --- exposure: only the TLS proxy is published ---------------------------------------------------

CADDYFILE = (ROOT / "docker" / "Caddyfile").read_text()


def _caddy_handles() -> dict[str, str]:
    """`handle <path> { ... }` blocks of the Caddyfile: path ("" for the fallback) → body."""
    handles, depth, current, body = {}, 0, None, []
    for line in CADDYFILE.splitlines():
        stripped = line.split("#", 1)[0].strip()
        if current is None:
            match = re.fullmatch(r"handle\s*(\S*)\s*\{", stripped)
            if match:
                current, depth, body = match.group(1), 1, []
            continue
        depth += stripped.count("{") - stripped.count("}")
        if depth == 0:
            handles[current] = "\n".join(body)
            current = None
        else:
            body.append(stripped)
    return handles


def test_only_the_proxy_publishes_ports():
    """HTTP goes through the TLS proxy. The MQTT broker is the one other published port: plant
    gateways connect to it with their client certificates, and it does its own TLS (8883)."""
    services = COMPOSE["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy", "mosquitto"}
    assert services["mosquitto"]["ports"] == ["8883:8883"]
    assert services["proxy"]["image"].split(":")[0] == "caddy"
    assert {"80:80", "443:443"} <= set(services["proxy"]["ports"])
    for name in ("web", "stream"):
        assert "ports" not in services[name]


def test_the_proxy_mounts_its_caddyfile_and_keeps_its_certificates():
    volumes = COMPOSE["services"]["proxy"]["volumes"]
    assert "./docker/Caddyfile:/etc/caddy/Caddyfile:ro" in volumes
    assert any(volume.startswith("caddy-data:/data") for volume in volumes)
    assert "caddy-data" in COMPOSE["volumes"]


def test_caddy_routes_stream_unbuffered_flower_on_loopback_and_the_rest_to_web():
    handles = _caddy_handles()
    for path in ("/api/v1/stream/", "/api/events"):
        assert "reverse_proxy stream:8001" in handles[path] and "flush_interval -1" in handles[path]
    assert "reverse_proxy 127.0.0.1:5555" in handles["/flower*"]
    for path in ("/flower/metrics", "/flower/healthcheck"):  # Flower serves these without its auth
        assert "respond 404" in handles[path]
    assert "reverse_proxy web:8000" in handles[""]
    assert not re.search(r"^\s*log\b", CADDYFILE, re.MULTILINE), "stream tickets must not reach an access log"
    assert re.search(r"^\{\$TOCSIN_DOMAIN:localhost\} \{", CADDYFILE, re.MULTILINE)


def test_flower_listens_on_the_proxys_loopback_with_a_prefix():
    flower = COMPOSE["services"]["flower"]
    assert flower["network_mode"] == "service:proxy" and "ports" not in flower
    environment = flower["environment"]
    assert environment["FLOWER_ADDRESS"] == "127.0.0.1" and environment["FLOWER_URL_PREFIX"] == "flower"
    assert environment["DATABASE_URL"] == COMPOSE["services"]["web"]["environment"]["DATABASE_URL"]
    port = environment["FLOWER_PORT"]
    assert f"reverse_proxy 127.0.0.1:{port}" in CADDYFILE
    assert f"http://127.0.0.1:{port}/flower/healthcheck" in flower["healthcheck"]["test"]
    assert re.search(r'--address="\$\{FLOWER_ADDRESS:-127\.0\.0\.1\}"', ENTRYPOINT)


def test_our_services_trust_the_one_tls_proxy():
    for name in ("web", "stream", "worker", "beat", "flower"):
        environment = COMPOSE["services"][name]["environment"]
        assert environment["TOCSIN_BEHIND_TLS_PROXY"] == "true" and environment["TOCSIN_TRUSTED_PROXIES"] == "1"


def test_the_published_flower_example_is_the_one_the_entrypoint_refuses():
    example = re.search(r"^FLOWER_BASIC_AUTH=(\S+)", (ROOT / ".env.example").read_text(), re.MULTILINE).group(1)
    assert f'FLOWER_EXAMPLE_CREDENTIALS="{example}"' in ENTRYPOINT


def test_every_setting_read_from_the_environment_is_in_env_example():
    settings_text = (ROOT / "tocsin" / "settings.py").read_text()
    names = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z0-9_]+)"', settings_text))
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert names - documented == set()
