"""``manage.py check --deploy`` passes with production settings from the environment (as CI runs it)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTTPS = {
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
}


def check_deploy(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in HTTPS}
    env.update(
        ENV_FILE="",
        DATA_DIR=str(tmp_path),
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="sms.example.com",
        **variables,
    )
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_passes_with_the_https_settings_from_the_environment(tmp_path: Path) -> None:
    run = check_deploy(tmp_path, **HTTPS)

    assert run.returncode == 0, run.stdout + run.stderr


def test_check_deploy_names_each_https_setting_left_unset(tmp_path: Path) -> None:
    run = check_deploy(tmp_path)

    assert run.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in run.stderr
