"""Starting and stopping the real processes integration tests need: the simulator and a worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Any, timeout: float, interval: float = 0.05, message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def stop_session(process: subprocess.Popen[bytes] | None) -> None:
    """Stop a process started in its own session, and its children: TERM, then KILL after 20 s."""
    if process and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


class Simulator:
    """The provider simulator as a subprocess on 127.0.0.1, with its control API."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "providers.simulator", "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("SIMULATOR_LISTENING"), line
        self.url = line.split()[1].rstrip("/")

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def reset(self) -> None:
        self.call("POST", "/_sim/reset", {})

    def fault(self, provider: str, mode: str, **options: Any) -> None:
        self.call("POST", "/_sim/fault", {"provider": provider, "mode": mode, **options})

    def received(self, provider: str | None = None) -> list[dict[str, Any]]:
        query = f"?provider={provider}" if provider else ""
        return list(self.call("GET", f"/_sim/received{query}")["requests"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class CeleryProcess:
    """A real ``celery -A smsproject ...`` process (worker or beat) on the test database and broker."""

    ready_marker = b""

    def __init__(self, env: dict[str, str], name: str) -> None:
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.log = ROOT / "data" / f"{name}-{os.getpid()}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log.write_bytes(b"")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "smsproject", *self.command()],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(lambda: self.ready_marker in self.log.read_bytes(), timeout=60, message=f"{self.log.name} ready")

    def stop(self) -> None:
        stop_session(self.process)


class Worker(CeleryProcess):
    ready_marker = b"ready."

    def __init__(self, env: dict[str, str], concurrency: int = 2) -> None:
        super().__init__(env, "worker")
        self.concurrency = concurrency

    def command(self) -> list[str]:
        return [
            "worker",
            "-l",
            "INFO",
            f"--concurrency={self.concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"test-{os.getpid()}@%h",
        ]


class Beat(CeleryProcess):
    ready_marker = b"beat: Starting"

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env, "beat")

    def command(self) -> list[str]:
        schedule = self.log.with_suffix(".schedule")
        return [
            "beat",
            "-l",
            "info",
            "--scheduler",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "--pidfile=",
            "-s",
            str(schedule),
            "--max-interval",
            "1",
        ]


class WebServer:
    """The API on a free 127.0.0.1 port: under gunicorn with ``gunicorn.conf.py`` (as production runs it),
    or ``manage.py runserver``. Its output, access log included, goes to ``log``."""

    def __init__(self, env: dict[str, str], server: str = "gunicorn") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "GUNICORN_ACCESS_LOG": "-", "WEB_CONCURRENCY": "1"}
        self.server = server
        self.log = ROOT / "data" / f"{server}-{os.getpid()}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        if self.server == "gunicorn":
            return ["-m", "gunicorn", "smsproject.wsgi", "--bind", f"127.0.0.1:{self.port}"]
        return ["manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"]

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, *self.command()],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self._listening, timeout=60, message=f"{self.server} listening")

    def _listening(self) -> bool:
        import socket

        assert self.process is not None and self.process.poll() is None, self.log.read_text()
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        stop_session(self.process)


# Runs the statements given in SQL (a JSON list) through Django's connection, one per line of input, and
# prints each outcome with its duration. Waits for a line on stdin before each, so the test can act between.
# Between statements, what Django does between two requests (and Celery between two tasks).
_SETTINGS_CHILD = """
import json, os, sys, time, django
django.setup()
from django.db import connection, Error
for sql in json.loads(os.environ["SQL"]):
    sys.stdin.readline()
    connection.close_if_unusable_or_obsolete()  # as between two requests or two tasks
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            outcome = str(cursor.fetchone()[0]) if cursor.description else "ok"
    except Error as exc:
        outcome = f"{type(exc).__name__}: {exc}".splitlines()[0]
    print(json.dumps([outcome, round(time.monotonic() - started, 2)]), flush=True)
"""


class SettingsChild:
    """A process with the project's settings on ``database_url``; ``run()`` sends it on to its next statement."""

    def __init__(self, database_url: str, sql: list[str], **env: str) -> None:
        clean = {key: value for key, value in os.environ.items() if not key.startswith("DB_")}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SETTINGS_CHILD],
            cwd=ROOT,
            env={
                **clean,
                "DJANGO_SETTINGS_MODULE": "smsproject.settings",
                # As in production: with DEBUG on, Django re-reads a failed statement's text through the
                # connection, and on a closed one that error replaces the real one.
                "DEBUG": "0",
                "SECRET_KEY": "db-timeouts-test-only",
                "DATABASE_URL": database_url,
                "SQL": json.dumps(sql),
                **env,
            },
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self) -> tuple[str, float]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, self.process.stderr.read() if self.process.stderr else ""
        outcome, seconds = json.loads(line)
        return outcome, seconds

    def close(self) -> None:
        self.process.kill()
        self.process.wait(10)
