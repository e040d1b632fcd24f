"""``bash scripts/up.sh`` as a newcomer runs it, in a copy of the checkout: ready, working key, same key next time."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.processes import ROOT, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.standalone]
# What scripts/test.sh sets for the suite; a newcomer's shell has none of it.
_SUITE_ONLY = {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DATA_DIR", "ENV_FILE", "SECRET_KEY", "DEBUG"}


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tracked files, as a fresh clone has them, with this checkout's installed .venv."""
    copy = tmp_path_factory.mktemp("clone")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    return copy


class Up:
    def __init__(self, checkout: Path, port: int, sim_port: int) -> None:
        env = {k: v for k, v in os.environ.items() if k not in _SUITE_ONLY}
        env.update(PORT=str(port), SIM_PORT=str(sim_port))
        env.update(DJANGO_SUPERUSER_USERNAME="admin", DJANGO_SUPERUSER_PASSWORD="admin-pw-for-tests")
        self.log = checkout / "up-output.txt"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                ["bash", "scripts/up.sh"],
                cwd=checkout,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def key(self) -> str:
        def printed() -> str | None:
            assert self.process.poll() is None, self.log.read_text()
            lines = self.log.read_text().splitlines()
            return lines[-1] if len(lines) > 1 and lines[-2] == "Demo client key:" else None

        return str(wait_for(printed, timeout=240, interval=0.5, message="up.sh to print the key"))

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture
def up(checkout: Path) -> Iterator[Any]:
    started: list[Up] = []

    def start() -> Up:
        started.append(Up(checkout, free_port(), free_port()))
        return started[-1]

    yield start
    for one in started:
        if one.process.poll() is None:
            one.stop()


def call(url: str, key: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=10) as response:
        return json.loads(response.read())


def test_up_is_ready_when_it_prints_the_key_and_keeps_its_demo_client(up: Any, checkout: Path) -> None:
    first = up()
    key = first.key()
    output = first.log.read_text()
    api = output.split("SMS gateway running: API ")[1].split()[0].rstrip("/")
    # Printed only once /readyz answered 200: the curl line works at once.
    sent = call(f"{api}/sendsms/", key, {"phone": "09121234567", "template_id": 1, "token_value": {"code": "1234"}})
    done = wait_for(lambda: call(f"{api}/sendsms/{sent['id']}/", key)["flag"] == "DONE", 30, 0.2, "DONE")
    assert done
    assert "admin user admin created" in output
    env_file = checkout / ".env"
    assert "SECRET_KEY=" in env_file.read_text() and env_file.stat().st_mode & 0o077 == 0
    first.stop()

    second = up()
    assert second.key() == key
    assert "admin user admin exists already" in second.log.read_text()
