"""What the web port shows to whom: CSP on the pages people use, CORS only for listed
origins, /metrics behind its token, the schema and docs behind a login, and the proxy's
X-Forwarded-Proto trusted only when a TLS proxy is declared."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from django.test import Client

from tests.factories import DEFAULT_PASSWORD
from tests.support.processes import ROOT, child_environment

pytestmark = pytest.mark.django_db


def _signed_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
    return client


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def _nonce(policy: dict[str, list[str]]) -> str:
    (nonce,) = [value[len("'nonce-"):-1] for value in policy["script-src"] if value.startswith("'nonce-")]
    return nonce


# --- Content-Security-Policy -------------------------------------------------------------------

def test_admin_pages_carry_a_strict_policy(world_a):
    anonymous = Client().get("/admin/login/")
    staff = _signed_in(world_a.staff).get("/admin/")
    for response in (anonymous, staff):
        assert response.status_code == 200
        policy = _policy(response)
        assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'self'"]
        assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
        html = response.content.decode()
        inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
        assert inline_scripts == [], inline_scripts


def test_the_board_may_connect_to_the_stream_origin_and_nothing_else(world_a, settings):
    settings.TOCSIN_STREAM_PUBLIC_URL = "https://stream.tocsin.example:8443/"
    response = _signed_in(world_a.staff).get("/board/")
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["connect-src"] == ["'self'", "https://stream.tocsin.example:8443"]
    assert "'unsafe-inline'" not in policy["script-src"]
    html = response.content.decode()
    executable = re.findall(r"<script(?![^>]*application/json)[^>]*>", html)
    assert executable and all("src=" in tag for tag in executable), executable


def test_docs_inline_script_and_style_carry_the_request_nonce(world_a):
    client = _signed_in(world_a.admin)
    first, second = client.get("/api/docs/"), client.get("/api/docs/")
    assert first.status_code == 200
    nonce = _nonce(_policy(first))
    assert len(nonce) >= 16 and nonce != _nonce(_policy(second))
    html = first.content.decode()
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts), scripts
    assert f'<style nonce="{nonce}">' in html
    assert f"'nonce-{nonce}'" in _policy(first)["style-src"]


def test_api_answers_carry_the_policy_too(world_a, client_for):
    response = client_for(world_a.admin).get("/api/v1/channels/")
    assert response.status_code == 200 and "default-src 'self'" in response["Content-Security-Policy"]


# --- schema and docs ---------------------------------------------------------------------------

def test_schema_and_docs_need_a_login_without_debug(world_a, client_for):
    anonymous = Client()
    assert anonymous.get("/api/schema/").status_code == 401
    docs = anonymous.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith("/admin/login/?next=/api/docs/")
    assert client_for(world_a.viewer).get("/api/schema/?format=json").status_code == 200
    assert _signed_in(world_a.staff).get("/api/docs/").status_code == 200


def test_schema_and_docs_can_be_made_public(settings):
    settings.TOCSIN_API_DOCS_PUBLIC = True
    assert Client().get("/api/schema/").status_code == 200
    assert Client().get("/api/docs/").status_code == 200


# --- CORS --------------------------------------------------------------------------------------

def _preflight(client: Client, path: str, origin: str):
    return client.options(path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
                          HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization")


def test_no_origin_is_allowed_by_default():
    response = _preflight(Client(), "/api/v1/alerts/", "https://portal.example.com")
    assert "Access-Control-Allow-Origin" not in response


def test_listed_origins_get_cors_on_the_api_only(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://portal.example.com"]
    client = Client()
    allowed = _preflight(client, "/api/v1/alerts/", "https://portal.example.com")
    assert allowed["Access-Control-Allow-Origin"] == "https://portal.example.com"
    assert "authorization" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed
    assert "Access-Control-Allow-Origin" not in _preflight(client, "/api/v1/alerts/", "https://evil.example.com")
    assert "Access-Control-Allow-Origin" not in _preflight(client, "/admin/login/", "https://portal.example.com")


# --- /metrics ----------------------------------------------------------------------------------

def test_metrics_need_the_bearer_token_when_one_is_set(settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    client = Client()
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Bearer")
    assert b"django_http" not in missing.content
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic c2NyYXBlLXRva2VuLTAxMjM0NTY3ODk=").status_code == 401
    scraped = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")
    assert scraped.status_code == 200 and b"django_http_requests_total_by_method_total" in scraped.content


def test_metrics_without_a_token_are_not_served_in_production(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_PUBLIC_WITHOUT_TOKEN = False
    assert Client().get("/metrics").status_code == 404


# --- settings decided at start -----------------------------------------------------------------

def _run_settings(expression: str, **env: str) -> subprocess.CompletedProcess:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child_environment(**env),
                          capture_output=True, text=True, timeout=60)


def _settings_in_child(expression: str, **env: str) -> str:
    result = _run_settings(expression, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_forwarded_proto_is_trusted_only_behind_a_declared_tls_proxy():
    assert _settings_in_child("settings.SECURE_PROXY_SSL_HEADER", TOCSIN_BEHIND_TLS_PROXY="false") == "None"
    assert _settings_in_child("settings.SECURE_PROXY_SSL_HEADER", TOCSIN_BEHIND_TLS_PROXY="true") == \
        "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_a_client_claiming_https_is_not_believed_without_a_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = None
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301 and response["Location"].startswith("https://")


def _production() -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {"DJANGO_ENV": "production", "DJANGO_SECRET_KEY": "p" * 60, "DJANGO_ALLOWED_HOSTS": "tocsin.example",
            "TOCSIN_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "TOCSIN_AUDIT_KEYS": "k1:" + "a7" * 32}


def test_production_refuses_the_private_targets_allowance():
    result = _run_settings("settings.TOCSIN_ALLOW_PRIVATE_TARGETS", TOCSIN_ALLOW_PRIVATE_TARGETS="true",
                           **_production())
    assert result.returncode != 0 and "TOCSIN_ALLOW_PRIVATE_TARGETS is for development only" in result.stderr


def test_production_defaults_close_docs_and_metrics():
    production = _production()
    assert _settings_in_child("settings.TOCSIN_API_DOCS_PUBLIC, settings.METRICS_PUBLIC_WITHOUT_TOKEN, "
                              "settings.TOCSIN_ALLOW_PRIVATE_TARGETS, settings.CORS_ALLOWED_ORIGINS",
                              **production) == "False False False []"
