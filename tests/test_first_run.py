"""What a newcomer meets first: the root page, the API docs without internet, a .env, a quiet first run."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.processes import ROOT


def test_root_lists_the_docs_the_admin_and_the_probes() -> None:
    body = Client().get("/").json()
    assert body["docs"] == {"swagger": "/swagger/", "redoc": "/redoc/", "openapi": "/schema/"}
    assert body["admin"] == "/admin/"
    assert body["probes"] == {"liveness": "/healthz", "readiness": "/readyz"}


@pytest.fixture(scope="module")
def collected_static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``collectstatic`` as the production steps run it; whitenoise then serves that folder."""
    static_root = tmp_path_factory.mktemp("static")
    env = dict(os.environ, STATIC_ROOT=str(static_root), ENV_FILE="")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    return static_root


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/swagger/", "/redoc/"])
def test_api_docs_pages_load_their_scripts_and_styles_from_the_project(
    page: str, collected_static: Path, settings: Any
) -> None:
    settings.DEBUG = False  # as in production: whitenoise serves only what collectstatic gathered
    settings.STATIC_ROOT = collected_static
    client = Client()
    html = client.get(page).content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(asset.endswith(".js") for asset in assets), assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert response.getvalue()


def test_settings_read_the_env_file_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=0\nSECRET_KEY=from-the-file\nLOG_LEVEL=WARNING\n")
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "LOG_LEVEL"}}
    code = "from django.conf import settings; print(settings.SECRET_KEY, settings.DEBUG, settings.LOG_LEVEL)"
    run = [sys.executable, "-c", f"import django; django.setup(); {code}"]
    env.update(ENV_FILE=str(env_file), DJANGO_SETTINGS_MODULE="smsproject.settings", LOG_LEVEL="ERROR")
    out = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["from-the-file", "False", "ERROR"]


def test_first_migrate_and_provider_load_print_no_warning(tmp_path: Path) -> None:
    env = dict(os.environ, DATA_DIR=str(tmp_path), DATABASE_URL="", ENV_FILE="", DEBUG="1")
    env.update(SMSIR_API_KEY="k1", KAVENEGAR_API_KEY="k2")
    env.update(SMSIR_API_URL="http://127.0.0.1:9/smsir", KAVENEGAR_API_URL="http://127.0.0.1:9/kavenegar")
    for command in (["migrate", "--no-input", "-v", "0"], ["load_providers", "demo/providers.yaml"]):
        run = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        assert run.stderr == "", (command, run.stderr)
        assert "WARNING" not in run.stdout, (command, run.stdout)


def test_the_embedded_broker_connects_without_a_kombu_warning(caplog: pytest.LogCaptureFixture) -> None:
    from smsproject.celery import app

    with caplog.at_level(logging.WARNING, logger="kombu"), app.connection_for_write() as connection:
        connection.info()
    assert not [r for r in caplog.records if r.name.startswith("kombu")], caplog.text
