"""docs/architecture.md is the map a newcomer trusts: every path it (and the README) names must exist.

A move that forgets the map fails here, so the map can't quietly rot into a story.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOC = REPO_ROOT / "docs" / "architecture.md"

# `apps/ingest/services/`, `workers/routes.py`: a path in backticks from the repository's root.
# URL paths (`heartbeats/`), placeholders (`<app>`) and globs (`views*.py`) don't match.
PATH_IN_BACKTICKS = re.compile(r"`([A-Za-z_][\w.\-]*(?:/[\w.\-]+)*/?)`")
TOP_LEVEL = ("apps", "workers", "tocsin", "device_agent", "agent_tools", "devstack", "tests", "bench", "docker",
             "docs")
ROOT_FILES = ("pyproject.toml", "README.md", "Makefile", "docker-compose.yml", ".env.example")


def named_paths(text: str) -> set[str]:
    return {token for token in PATH_IN_BACKTICKS.findall(text)
            if token.split("/")[0] in TOP_LEVEL and "/" in token or token in ROOT_FILES}


def test_the_doc_names_paths_at_all():
    assert len(named_paths(DOC.read_text())) > 40


@pytest.mark.parametrize("document", [DOC, REPO_ROOT / "README.md"], ids=lambda path: path.name)
def test_every_path_the_docs_name_exists(document):
    missing = sorted(p for p in named_paths(document.read_text()) if not (REPO_ROOT / p).exists())
    assert missing == []


def test_the_readme_links_the_architecture():
    assert "docs/architecture.md" in (REPO_ROOT / "README.md").read_text()
