"""``DB_SYNCHRONOUS_COMMIT``: the operator's switch for whether a commit waits for the disk's flush."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.processes import ROOT, SettingsChild

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
    assert "synchronous_commit" not in json.loads(run.stdout)["options"]


def test_off_becomes_a_connection_option() -> None:
    run = _settings(DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused", DB_SYNCHRONOUS_COMMIT="off")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["options"].endswith(" -c synchronous_commit=off")


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


def test_sqlite_commits_in_wal_mode_without_a_flush_per_commit(tmp_path: Path) -> None:
    """The embedded set-up's connection as the project's settings open it: WAL, ``synchronous=NORMAL``."""
    child = SettingsChild(f"sqlite:///{tmp_path / 'db.sqlite3'}", ["PRAGMA journal_mode", "PRAGMA synchronous"])
    try:
        assert [child.run()[0] for _ in range(2)] == ["wal", "1"]  # 1: NORMAL
    finally:
        child.close()


# PostgreSQL sessions opened by the project's settings, with and without DB_SYNCHRONOUS_COMMIT:
# tests/faults/test_db_timeouts.py::test_each_session_carries_the_configured_timeouts.


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
