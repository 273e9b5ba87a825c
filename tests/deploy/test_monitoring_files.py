"""The monitoring files of the compose stack: Prometheus scrapes /metrics with the token,
its alert rules are valid (promtool when installed, else a schema check), Grafana is
provisioned with a dashboard whose queries name metrics Tocsin exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
RULES = ROOT / "docker" / "prometheus" / "alerts.yml"
DASHBOARD = json.loads((ROOT / "docker" / "grafana" / "dashboards" / "tocsin.json").read_text())


def test_compose_runs_prometheus_grafana_and_the_watchdog_with_their_files():
    services = COMPOSE["services"]
    assert services["watchdog"]["command"] == ["watchdog"]
    assert "check_platform" in services["beat"]["healthcheck"]["test"]
    prometheus_mounts = {volume.split(":")[0] for volume in services["prometheus"]["volumes"]}
    grafana_mounts = {volume.split(":")[0] for volume in services["grafana"]["volumes"]}
    for mount in prometheus_mounts | grafana_mounts:
        if mount.startswith("./"):
            assert (ROOT / mount).exists(), mount
    assert services["prometheus"]["secrets"] == ["metrics_token"]
    assert COMPOSE["secrets"]["metrics_token"] == {"environment": "METRICS_TOKEN"}
    for name in ("prometheus", "grafana", "watchdog", "web", "worker", "beat"):
        assert services[name].get("restart") == "unless-stopped", name
        assert "healthcheck" in services[name] or name == "watchdog", name


def test_prometheus_scrapes_tocsin_with_the_metrics_token():
    config = yaml.safe_load((ROOT / "docker" / "prometheus" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics" and job["static_configs"][0]["targets"] == ["web:8000"]
    assert job["authorization"]["credentials_file"] == "/run/secrets/metrics_token"
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_alert_rules_are_valid():
    if shutil.which("promtool"):
        result = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        return
    rules = yaml.safe_load(RULES.read_text())
    assert set(rules) == {"groups"}
    names = set()
    for group in rules["groups"]:
        assert set(group) <= {"name", "rules", "interval"} and group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}, rule
            assert rule["alert"] not in names and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule["alert"])
            names.add(rule["alert"])
            assert isinstance(rule["expr"], str) and rule["expr"].count("(") == rule["expr"].count(")")
            assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s"))
            assert rule["labels"]["severity"] in {"critical", "warning"}
            assert rule["annotations"]["summary"]
    assert {"TocsinBeatStale", "TocsinNoWorker", "TocsinOutboxBacklog", "TocsinDeadLetters"} <= names


@pytest.mark.django_db
def test_rules_and_dashboard_name_metrics_that_tocsin_exports(client):
    from apps.operations.services import heartbeat_record

    heartbeat_record(name="beat", kind="beat")
    client.get("/healthz")
    text = client.get("/metrics").content.decode()
    families = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))  # listed even with no samples yet
    exported = set(re.findall(r"^([a-z_0-9]+)(?:\{| )", text, re.MULTILINE))
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}
    exported |= set(families)
    exported |= {name + suffix for name, kind in families.items() for suffix in suffixes.get(kind, [""])}
    queries = [rule["expr"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]
    queries += [target["expr"] for panel in DASHBOARD["panels"] for target in panel["targets"]]
    for query in queries:
        for metric in re.findall(r"\b(tocsin_[a-z_0-9]+|django_[a-z_0-9]+)", query):
            assert metric in exported, (metric, query)
    assert DASHBOARD["uid"] == "tocsin-platform" and len(DASHBOARD["panels"]) >= 6
