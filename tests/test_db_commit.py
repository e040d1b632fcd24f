"""``DB_SYNCHRONOUS_COMMIT``: the operator's switch for whether a commit waits for the disk's flush."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from typing import Any

import pytest
from django.db import connection

from tests.processes import ROOT

_PRINT_OPTIONS = (
    "import json; from django.conf import settings; print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
)


def _settings(**env: str) -> subprocess.CompletedProcess[str]:
    """The project's settings loaded in a fresh interpreter with ``env``: they are read once, at import."""
    clean = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "DB_SYNCHRONOUS_COMMIT"}}
    return subprocess.run(
        [sys.executable, "-c", _PRINT_OPTIONS],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "smsproject.settings", "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unset_leaves_the_servers_setting() -> None:
    run = _settings(DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused")
    assert run.returncode == 0, run.stderr
    assert "options" not in json.loads(run.stdout)


def test_off_becomes_a_connection_option() -> None:
    run = _settings(DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused", DB_SYNCHRONOUS_COMMIT="off")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["options"] == "-c synchronous_commit=off"


@pytest.mark.parametrize(
    ("url", "value", "message"),
    [
        ("sqlite:////tmp/unused.sqlite3", "off", "PostgreSQL's setting"),
        ("postgres://postgres@127.0.0.1:5432/unused", "sometimes", "not a synchronous_commit value"),
    ],
)
def test_a_value_that_cannot_apply_stops_the_process(url: str, value: str, message: str) -> None:
    run = _settings(DATABASE_URL=url, DB_SYNCHRONOUS_COMMIT=value)
    assert run.returncode != 0
    assert "ImproperlyConfigured" in run.stderr and message in run.stderr


@pytest.mark.django_db
def test_the_database_commits_as_configured() -> None:
    """On PostgreSQL the option reaches the server through Django's own connection code; on SQLite (which has
    no such switch) commits in WAL mode do not flush either: ``synchronous=NORMAL``, as the settings ask."""
    if connection.vendor == "postgresql":
        params = connection.get_connection_params()
        server = connection.get_new_connection({**params, "options": "-c synchronous_commit=off"})
        try:
            with server.cursor() as cursor:
                assert cursor.execute("SHOW synchronous_commit").fetchone() == ("off",)
        finally:
            server.close()
        with connection.cursor() as cursor:  # the suite's own connection keeps the server's default
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone() == ("on",)
    else:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone() == ("wal",)
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone() == (1,)  # NORMAL


@pytest.mark.parametrize(("value", "warned"), [("off", True), ("", False), ("local", False)])
def test_a_worker_started_with_asynchronous_commit_warns(
    value: str, warned: bool, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from celery.signals import worker_init

    from smsproject.celery import _warn_async_commit

    assert _warn_async_commit in worker_init._live_receivers(None)
    settings.DB_SYNCHRONOUS_COMMIT = value
    with caplog.at_level(logging.WARNING, logger="smsproject"):
        _warn_async_commit()
    assert any("set it on the web processes only" in record.message for record in caplog.records) is warned
