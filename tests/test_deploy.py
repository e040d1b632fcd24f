"""The production layout in deploy/, run as shipped: nginx in front of gunicorn, a worker and beat (started by
honcho from deploy/Procfile) on free 127.0.0.1 ports, a request end to end to the simulator, and the
systemd units checked by systemd-analyze. The stack is one host's embedded set-up in a temporary folder,
so it shares nothing with the rest of the suite."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.processes import ROOT, Simulator, free_port, wait_for

pytestmark = [pytest.mark.servers, pytest.mark.integration, pytest.mark.standalone]
DEPLOY = ROOT / "deploy"
BODY = {"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}}
_SUITE_ONLY = {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "TEST_DATA_DIR"}


def site_config(*, listen: int, upstream: str, static: Path) -> str:
    """deploy/nginx/sms-gateway.conf with only its addresses and its static folder changed."""
    text = (DEPLOY / "nginx" / "sms-gateway.conf").read_text()
    for shipped, here in (
        ("listen 80;", f"listen 127.0.0.1:{listen};"),
        ("server 127.0.0.1:8000;", f"server {upstream};"),
        ("alias /var/lib/sms-gateway/static/;", f"alias {static}/;"),
    ):
        assert shipped in text, shipped
        text = text.replace(shipped, here)
    return text


class Nginx:
    """Debian's nginx with a main configuration of its own that includes the shipped site."""

    def __init__(self, folder: Path, site: str, port: int) -> None:
        folder.mkdir(parents=True)
        (folder / "site.conf").write_text(site)
        temp = " ".join(
            f"{kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        user = "user root;" if os.geteuid() == 0 else ""  # its workers must read the root-owned test folders
        (folder / "nginx.conf").write_text(
            f"daemon off; worker_processes 1; {user} pid {folder}/nginx.pid; error_log {folder}/error.log;\n"
            "events { worker_connections 1024; }\n"
            f"http {{ include /etc/nginx/mime.types; access_log {folder}/access.log; {temp}\n"
            f"  include {folder}/site.conf; }}\n"
        )
        self.process = subprocess.Popen(
            ["nginx", "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(folder / "nginx.conf")],
            stderr=subprocess.PIPE,
        )
        self.url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _port_open(port) or self.process.poll() is not None, 20, message="nginx")
        assert self.process.poll() is None, self.process.stderr.read() if self.process.stderr else ""

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Deployment:
    nginx: str
    gunicorn: str
    key: str
    sim: Simulator
    folder: Path


def request(url: str, *, key: str = "", body: Any = None, raw: bytes | None = None, timeout: float = 10) -> Any:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Token {key}"} if key else {})}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def answers(url: str) -> int | None:
    """The status, or None while nothing answers in time (a process still starting)."""
    try:
        return int(request(url, timeout=3)[0])
    except OSError:
        return None


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, simulator: Simulator) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("deploy")
    gunicorn_port, nginx_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in _SUITE_ONLY}
    env.update(
        DEBUG="0",
        SECRET_KEY="deploy-test-secret-key-" + "x" * 40,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATA_DIR=str(folder / "data"),
        STATIC_ROOT=str(folder / "static"),
        ENV_FILE="",
        GUNICORN_BIND=f"127.0.0.1:{gunicorn_port}",
        WEB_CONCURRENCY="2",
        SMS_TRUSTED_PROXY_COUNT="1",
        SMSIR_API_URL=f"{simulator.url}/smsir",
        KAVENEGAR_API_URL=f"{simulator.url}/kavenegar",
        SMSIR_API_KEY="smsir-test-key",
        KAVENEGAR_API_KEY="kavenegar-test-key",
    )
    # The documented production steps, in order: migrate, collectstatic, then the providers and a client.
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--no-input", "-v", "0"], ["collectstatic", "--no-input", "-v", "0"]):
        subprocess.run([*manage, *command], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "load_providers", "demo/providers.yaml"], cwd=ROOT, env=env, check=True)
    created = subprocess.run(
        [*manage, "create_client", "deploy-test"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    key = created.stdout.strip().splitlines()[-1]

    empty_env_file = folder / "honcho.env"  # honcho would read a developer's .env from the checkout
    empty_env_file.write_text("")
    log = (folder / "honcho.log").open("wb")
    honcho = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "honcho"),
            "-f",
            str(DEPLOY / "Procfile"),
            "-d",
            str(ROOT),
            "-e",
            str(empty_env_file),
            "start",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    nginx = Nginx(
        folder / "nginx",
        site_config(listen=nginx_port, upstream=f"127.0.0.1:{gunicorn_port}", static=folder / "static"),
        nginx_port,
    )
    try:
        wait_for(
            lambda: answers(f"{nginx.url}/readyz") == 200,
            timeout=120,
            interval=0.5,
            message=f"/readyz through nginx ({folder}/honcho.log)",
        )
        yield Deployment(nginx.url, f"http://127.0.0.1:{gunicorn_port}", key, simulator, folder)
    finally:
        nginx.stop()
        os.killpg(honcho.pid, signal.SIGTERM)
        try:
            honcho.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait(10)
        log.close()


def test_a_request_goes_through_nginx_gunicorn_and_the_worker_to_the_simulator(deployment: Deployment) -> None:
    deployment.sim.reset()
    status, _headers, body = request(f"{deployment.nginx}/sendsms/", key=deployment.key, body=BODY)
    assert status == 202, body
    sent = json.loads(body)

    def done() -> Any:
        answer = json.loads(request(f"{deployment.nginx}/sendsms/{sent['id']}/", key=deployment.key)[2])
        return answer if answer["flag"] == "DONE" else None

    assert wait_for(done, timeout=60, interval=0.2, message="DONE")["system"] == "smsir"
    received = deployment.sim.received("smsir")
    assert [r["body"]["mobile"] for r in received] == ["09121234567"]


def test_nginx_serves_the_collected_static_files_itself(deployment: Deployment) -> None:
    status, headers, body = request(f"{deployment.nginx}/static/admin/css/base.css")
    assert status == 200 and b"body" in body
    assert headers["Cache-Control"] == "max-age=604800"  # nginx's `expires 7d`, not whitenoise's answer


def test_nginx_refuses_an_oversized_body_in_the_api_error_shape(deployment: Deployment) -> None:
    status, headers, body = request(f"{deployment.nginx}/sendsms/", key=deployment.key, raw=b"{" + b" " * 17_000)
    assert status == 413
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "payload_too_large"


class SlowClients:
    """Connections that send a request's headers at once, then its body one byte every two seconds."""

    def __init__(self, url: str, count: int) -> None:
        host, port = url.removeprefix("http://").split(":")
        head = (
            b"POST /sendsms/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n"
        )
        self.sockets = []
        for _ in range(count):
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(head + b"{")
            self.sockets.append(sock)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._drip, daemon=True)
        self.thread.start()

    def _drip(self) -> None:
        while not self.stopped.wait(2):
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.send(b" ")

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        for sock in self.sockets:
            sock.close()


def timed(url: str, key: str = "", timeout: float = 10) -> float:
    started = time.monotonic()
    status = request(url, key=key, timeout=timeout)[0]
    assert status == 200, url
    return time.monotonic() - started


def test_fifty_slow_clients_through_nginx_leave_normal_requests_under_100_ms(deployment: Deployment) -> None:
    slow = SlowClients(deployment.nginx, 50)
    try:
        time.sleep(3)  # every slow client has sent part of its body; gunicorn has 2 workers
        times = []
        for _ in range(20):
            times.append(timed(f"{deployment.nginx}/healthz"))
            times.append(timed(f"{deployment.nginx}/sendsms/?limit=1", deployment.key))
            time.sleep(0.2)
    finally:
        slow.close()
    times.sort()
    assert times[-1] < 0.1, [round(t * 1000) for t in times]


def test_without_nginx_the_same_slow_clients_stop_gunicorn(deployment: Deployment) -> None:
    # Why production runs behind nginx: the sync workers would each wait on one slow client's body.
    slow = SlowClients(deployment.gunicorn, 50)
    try:
        time.sleep(1)
        with pytest.raises((TimeoutError, urllib.error.URLError)):
            request(f"{deployment.gunicorn}/healthz", timeout=3)
    finally:
        slow.close()
    wait_for(lambda: answers(f"{deployment.gunicorn}/healthz") == 200, 60, 0.5, "gunicorn answering again")


def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # Installed as docs/deploy.md says, with this checkout in /srv/sms-gateway's place.
    env_file = tmp_path / "env"
    env_file.write_text((DEPLOY / "env.example").read_text())
    units = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        text = unit.read_text().replace("/srv/sms-gateway", str(ROOT)).replace("/etc/sms-gateway/env", str(env_file))
        (tmp_path / unit.name).write_text(text)
        units.append(str(tmp_path / unit.name))
    assert len(units) == 3
    run = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True)
    assert (run.returncode, run.stdout + run.stderr) == (0, "")
