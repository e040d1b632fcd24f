"""A whole gateway in subprocesses this test owns: PostgreSQL, Redis, the simulator, the API, workers, beat.

Nothing here touches the machine's shared services: PostgreSQL is initialised into a temporary folder and
listens on a free 127.0.0.1 port, Redis likewise, and every process is started here, so its PID is ours to
stop, kill or freeze. The migrated database is built once per session and copied for each test.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kombu
import psycopg
import redis

from tests.processes import ROOT, Simulator, free_port, wait_for


def pg_bin() -> Path:
    """PostgreSQL's server programs (Debian's layout), looked up when a test needs them, not at collection."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not found:
        raise RuntimeError("PostgreSQL's server programs are missing: apt-get install postgresql")
    return Path(found[-1])


# Debian's script itself: /usr/sbin/rabbitmq-server wraps it in su, and the PID would not be the server's.
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
PG_USER = "postgres"
DB_NAME = "gateway"
SECRET = "faults-only-secret-key"
# Far above any count these tests send: limits are not what they measure.
NO_LIMIT = "1000000/60"
LOGS = ROOT / "data" / "faults-logs"


def _as_postgres() -> dict[str, Any]:
    # The postgres binaries refuse to run as root; the child changes user itself, so the PID stays the server's.
    return {"user": PG_USER, "group": PG_USER} if os.geteuid() == 0 else {}


class Postgres:
    """One PostgreSQL server on its own data folder and port; stopped with a fast shutdown, restartable."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def initialise(cls, data_dir: Path) -> Postgres:
        data_dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(data_dir, PG_USER, PG_USER)
        subprocess.run(
            [pg_bin() / "initdb", "-D", data_dir, "-U", PG_USER, "-A", "trust", "--no-sync", "-E", "UTF8"],
            check=True,
            capture_output=True,
            **_as_postgres(),
        )
        return cls(data_dir)

    def copy(self, data_dir: Path) -> Postgres:
        subprocess.run(["cp", "-a", str(self.dir), str(data_dir)], check=True)
        return Postgres(data_dir)

    @property
    def url(self) -> str:
        return self.url_of(DB_NAME)

    def url_of(self, database: str) -> str:
        return f"postgres://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        log = (self.dir.parent / f"{self.dir.name}.log").open("ab")
        self.process = subprocess.Popen(
            [
                pg_bin() / "postgres",
                "-D",
                self.dir,
                "-p",
                str(self.port),
                "-k",
                self.dir,
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=200",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **_as_postgres(),
        )
        wait_for(self._accepting, timeout=30, interval=0.1, message="postgres accepting connections")

    def _accepting(self) -> bool:
        try:
            with psycopg.connect(host="127.0.0.1", port=self.port, user=PG_USER, dbname="postgres", connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False

    def stop(self) -> None:
        _stop(self.process, signal.SIGINT)  # SIGINT: "fast" shutdown, open sessions are cut
        self.process = None

    def crash(self) -> None:
        """SIGKILL to every process of the server at once: no shutdown checkpoint, and whatever sat in shared
        memory (WAL not yet written) is gone. The next start recovers from the WAL files."""
        _stop(self.process, signal.SIGKILL)
        self.process = None

    def freeze(self) -> None:
        """SIGSTOP to the server and every backend (each runs in its own process group): connections stay
        open and accept bytes, nothing answers, new connections wait in the listen queue."""
        for pid in self._pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._pids():
            os.kill(pid, signal.SIGCONT)

    def _pids(self) -> list[int]:
        assert self.process is not None
        children: list[int] = []
        for path in glob.glob(f"/proc/{self.process.pid}/task/*/children"):
            with contextlib.suppress(OSError):
                children += [int(pid) for pid in Path(path).read_text().split()]
        return [self.process.pid, *children]

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=PG_USER, dbname=DB_NAME, autocommit=True, connect_timeout=3
        )


class RedisServer:
    """A redis-server without persistence: stopping it loses every queued message."""

    def __init__(self, work_dir: Path) -> None:
        self.dir = work_dir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        log = (self.dir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)
        wait_for(lambda: _pings(client), timeout=15, interval=0.05, message="redis ping")

    def stop(self) -> None:
        _stop(self.process, signal.SIGTERM)
        self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


class RabbitMQServer:
    """A private RabbitMQ node: its own name, ports, data and log in ``work_dir``; stopped gracefully (SIGTERM).

    Nothing of the machine's own node is touched: the node reads none of the machine's RabbitMQ configuration
    (its config, environment and plugins files are ours), listens on free 127.0.0.1 ports for AMQP and for
    Erlang distribution, and keeps its Erlang cookie in ``work_dir``. Messages are persistent and the queue
    durable (Celery's defaults), so a stop and start keeps what was queued, as a production restart does.
    """

    def __init__(self, work_dir: Path) -> None:
        self.dir = work_dir
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"faults-{uuid.uuid4().hex[:8]}@localhost"
        self.log = work_dir.parent / "rabbitmq.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self, timeout: float = 180) -> None:
        if not RABBITMQ_SERVER.exists():
            raise AssertionError(f"{RABBITMQ_SERVER} not found: install Debian's rabbitmq-server (.ci/run does)")
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq-env.conf").write_text("")
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.dir),  # the Erlang cookie
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_LOGS": "-",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [RABBITMQ_SERVER], cwd=self.dir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(self._accepting, timeout=timeout, interval=0.2, message=f"rabbitmq accepting AMQP ({self.log})")

    def _accepting(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"rabbitmq exited with {self.process.returncode}; see {self.log}")
        try:
            with kombu.Connection(self.url, connect_timeout=1) as connection:
                connection.ensure_connection(max_retries=1)
            return True
        except Exception:  # not listening yet, or still booting
            return False

    def queued(self) -> str:
        """The task queue's depth and consumers, for a stuck test's diagnosis."""
        try:
            with kombu.Connection(self.url, connect_timeout=1) as connection:
                name, messages, consumers = connection.default_channel.queue_declare("celery", passive=True)
            return f"rabbitmq: {name} queue={messages} consumers={consumers}"
        except Exception as exc:
            return f"rabbitmq: {type(exc).__name__}"

    def stop(self) -> None:
        _stop(self.process, signal.SIGTERM, timeout=60)
        self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def _stop(process: subprocess.Popen[bytes] | None, sig: int, timeout: float = 20) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGCONT)  # a frozen process cannot act on a stop signal
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


class Service:
    """A project process (gunicorn, a Celery worker, beat) in its own session, with its log in the stack folder."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path, ready: str) -> None:
        self.name, self.args, self.env, self.log, self.ready = name, args, env, log, ready
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, *self.args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(
            lambda: self._started(offset), timeout=timeout, interval=0.1, message=f"{self.name} ready ({self.log})"
        )

    def _started(self, offset: int) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}; see {self.log}")
        with self.log.open("rb") as log:
            log.seek(offset)
            return self.ready.encode() in log.read()

    def children(self) -> list[int]:
        assert self.process is not None
        found: list[int] = []
        for path in glob.glob(f"/proc/{self.process.pid}/task/*/children"):
            with contextlib.suppress(OSError):
                found += [int(pid) for pid in Path(path).read_text().split()]
        return found

    def kill(self) -> None:
        """SIGKILL the main process and every child: no chance to ack, requeue or clean up."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        _stop(self.process, signal.SIGTERM)


@dataclass
class Summary:
    """What one fault test measured; printed at the end of the session and written to data/faults-summary.txt."""

    test: str
    in_flight: int
    ended: int
    done: int
    failed: int
    duplicates: int
    duplicates_explained: int
    longest_wait_s: float
    note: str = ""

    def line(self) -> str:
        return (
            f"{self.test}: requests={self.in_flight} ended={self.ended} (done={self.done} failed={self.failed}) "
            f"duplicate_sends={self.duplicates} (recorded_as_timeout={self.duplicates_explained}) "
            f"longest_wait={self.longest_wait_s:.1f}s {self.note}".rstrip()
        )


class Stack:
    """The gateway's processes on their own PostgreSQL and Redis (or RabbitMQ as the broker, with
    ``broker="rabbitmq"``). Use as a context manager: all stop at exit."""

    def __init__(
        self,
        template: Postgres,
        work_dir: Path,
        *,
        cache: str = "db",
        broker: str = "redis",
        read_timeout: float = 2.0,
        **env: str,
    ) -> None:
        self.dir = work_dir
        self.dir.mkdir(parents=True)
        self.pg = template.copy(self.dir / "pg")
        self.redis = RedisServer(self.dir / "redis")
        self.rabbitmq = RabbitMQServer(self.dir / "rabbitmq") if broker == "rabbitmq" else None
        self._sim: Simulator | None = None
        self.services: list[Service] = []
        self.cache = cache
        self.read_timeout = read_timeout
        self.extra_env = env
        self.api_url = ""
        self.key = ""
        self._phones = 1_000_000

    @property
    def sim(self) -> Simulator:
        assert self._sim is not None, "the stack is not started"
        return self._sim

    # --- lifecycle ----------------------------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        self.pg.start()
        if self.rabbitmq is None or self.cache == "redis":
            self.redis.start()
        if self.rabbitmq is not None:
            self.rabbitmq.start()
        self._sim = Simulator()
        self.env = stack_env(
            database_url=self.pg.url,
            broker_url=self.redis.url(0) if self.rabbitmq is None else self.rabbitmq.url,
            cache_url=self.redis.url(1) if self.cache == "redis" else "",
            data_dir=self.dir / "data",
            **self.extra_env,
        )
        self.key = self._setup()
        return self

    def __exit__(self, *exc: object) -> None:
        for service in reversed(self.services):
            service.stop()
        if self._sim is not None:
            self._sim.stop()
        if self.rabbitmq is not None:
            self.rabbitmq.stop()
        self.redis.stop()
        self.pg.stop()
        # Logs outlive the temporary folder, for the failure that needs them.
        logs = LOGS / self.dir.name
        logs.mkdir(parents=True, exist_ok=True)
        for log in self.dir.glob("*.log"):
            shutil.copy(log, logs / log.name)

    def _setup(self) -> str:
        config = json.dumps(gateway_config(self.sim.url, self.read_timeout))
        code = (
            "import json, os; from messaging.services.config import providers_load; "
            "from clients.services import client_create; "
            "providers_load(data=json.loads(os.environ['FAULTS_CONFIG'])); "
            "print('KEY', client_create(name='faults')[1])"
        )
        out = self.manage("shell", "-c", code, env={"FAULTS_CONFIG": config})
        return next(line.split()[1] for line in out.splitlines() if line.startswith("KEY "))

    def manage(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def api(self, workers: int = 2, env: dict[str, str] | None = None) -> Service:
        port = free_port()
        self.api_url = f"http://127.0.0.1:{port}"
        args = ["-m", "gunicorn", "smsproject.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", str(workers)]
        args += ["--threads", "4", "--timeout", "30", "--graceful-timeout", "3"]
        service = self._service("api", args, ready="Booting worker", env=env)
        # "Booting worker" is logged before a worker loads the project (~1-10 s on a busy machine): until one
        # answers, a request would time the project's start-up, not the API.
        http("GET", f"{self.api_url}/sendsms/", None, {}, timeout=60)
        return service

    def worker(self, level: str = "INFO", concurrency: int | None = None) -> Service:
        """A Celery worker started as the README starts one (``celery -A smsproject worker -l INFO``): the
        shipped pool and concurrency (prefork, one child). Only a node name is added, so two workers differ.
        ``concurrency`` departs from the shipped one; a test that passes it says why."""
        name = f"faults-{uuid.uuid4().hex[:8]}@%h"
        args = ["-m", "celery", "-A", "smsproject", "worker", "-l", level, "-n", name]
        if concurrency is not None:
            args.append(f"--concurrency={concurrency}")
        return self._service("worker", args, ready="ready.")

    def beat(self) -> Service:
        pidfile = self.dir / f"beat-{uuid.uuid4().hex[:8]}.pid"
        args = ["-m", "celery", "-A", "smsproject", "beat", "-l", "INFO", f"--pidfile={pidfile}"]
        return self._service("beat", args, ready="beat: Starting")

    def _service(self, name: str, args: list[str], ready: str, env: dict[str, str] | None = None) -> Service:
        log = self.dir / f"{name}-{len(self.services)}.log"
        service = Service(name, args, {**self.env, **(env or {})}, log, ready)
        service.start()
        self.services.append(service)
        return service

    # --- the client's side ----------------------------------------------------------------------------------------
    def next_phone(self) -> str:
        self._phones += 1
        return f"0912{self._phones}"

    def post(self, phone: str | None = None, timeout: float = 5, headers: dict[str, str] | None = None) -> Reply:
        body = {"phone": phone or self.next_phone(), "template_id": 1, "token_value": {"code": "123456"}}
        return http(
            "POST",
            f"{self.api_url}/sendsms/",
            body,
            {"Authorization": f"Token {self.key}", **(headers or {})},
            timeout=timeout,
        )

    def post_recorded(self, timeout: float) -> Reply:
        """``post``, but every outcome is a Reply: a hang (timeout) or any other exception is status 0, with
        the time it took, so a load loop records what went wrong instead of dying or dropping it."""
        started = time.monotonic()
        try:
            return self.post(timeout=timeout)
        except Exception as exc:
            return Reply(0, f"{type(exc).__name__}: {exc}", time.monotonic() - started, {})

    def post_many(self, count: int, threads: int = 8, timeout: float = 5) -> list[Reply]:
        phones = [self.next_phone() for _ in range(count)]
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(lambda phone: self.post(phone, timeout=timeout), phones))

    def sweep(self) -> None:
        """Run the sweeper once, as beat would (reclaim expired leases, re-publish what is due)."""
        self.manage(
            "shell", "-c", "from messaging.services.requests import requests_sweep; requests_sweep()", timeout=30
        )

    def publish(self, request_ids: list[int], times: int = 1) -> None:
        code = (
            "import json, os; from messaging.publishing import publish_now; "
            "assert publish_now(json.loads(os.environ['FAULTS_IDS'])) > 0"
        )
        self.manage("shell", "-c", code, env={"FAULTS_IDS": json.dumps(request_ids * times)})

    # --- what happened ------------------------------------------------------------------------------------------
    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.pg.connect() as conn:
            return list(conn.execute(sql, params).fetchall())

    def flags(self) -> Counter[str]:
        return Counter(dict(self.rows("SELECT flag, count(*) FROM messaging_verifyrequests GROUP BY flag")))

    def wait_all_final(self, expected: int, timeout: float, sweep_every: float = 0) -> Counter[str]:
        """Wait until ``expected`` requests exist and every one is DONE or FAILED."""
        last_sweep = time.monotonic()

        def settled() -> bool:
            nonlocal last_sweep
            if sweep_every and time.monotonic() - last_sweep > sweep_every:
                self.sweep()
                last_sweep = time.monotonic()
            flags = self.flags()
            return sum(flags.values()) >= expected and flags["DONE"] + flags["FAILED"] == sum(flags.values())

        try:
            wait_for(settled, timeout=timeout, interval=0.5, message="every request to end")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {dict(self.flags())}\n{self.diagnosis()}") from None
        return self.flags()

    def diagnosis(self, lines: int = 12) -> str:
        """What CI shows of a stuck stack: the broker's queue and the end of each service's log."""
        parts = [self.rabbitmq.queued() if self.rabbitmq is not None else self._redis_queue()]
        for service in self.services:
            tail = service.log.read_text(errors="replace").splitlines()[-lines:] if service.log.exists() else []
            code = service.process.poll() if service.process else None
            state = "running" if service.process and code is None else f"exited with {code}"
            parts.append(f"--- {service.log.name}, {state} (last {len(tail)} lines)\n" + "\n".join(tail))
        return "\n".join(parts)

    def _redis_queue(self) -> str:
        try:
            client = redis.Redis(host="127.0.0.1", port=self.redis.port, socket_timeout=1, socket_connect_timeout=1)
            return f"redis: celery queue={client.llen('celery')} unacked={client.hlen('unacked')}"
        except redis.RedisError as exc:
            return f"redis: {type(exc).__name__}"

    def summary(self, test: str, note: str = "") -> Summary:
        """Count duplicates: more than one call for the same request through the same provider."""
        received = Counter((record["mobile"], record["provider"]) for record in self.sim.received())
        timeouts = Counter(
            {
                (phone, engine): count
                for phone, engine, count in self.rows(
                    "SELECT r.phone, e.name, count(*) FROM messaging_attempt a "
                    "JOIN messaging_verifyrequests r ON r.id = a.request_id "
                    "JOIN messaging_engine e ON e.id = a.engine_id "
                    "WHERE a.outcome = 'timeout' GROUP BY r.phone, e.name"
                )
            }
        )
        duplicates = explained = 0
        for pair, count in received.items():
            extra = count - 1
            if extra > 0:
                duplicates += extra
                explained += min(extra, timeouts[pair])
        [(total, ended, done, failed, longest)] = self.rows(
            "SELECT count(*), count(completed_at), count(*) FILTER (WHERE flag = 'DONE'), "
            "count(*) FILTER (WHERE flag = 'FAILED'), "
            "coalesce(extract(epoch FROM max(coalesce(completed_at, now()) - created_at)), 0) "
            "FROM messaging_verifyrequests"
        )
        summary = Summary(test, total, ended, done, failed, duplicates, explained, float(longest), note)
        record_summary(summary)
        return summary


@dataclass
class Reply:
    status: int
    body: Any
    elapsed: float
    headers: dict[str, str]


def http(method: str, url: str, body: Any, headers: dict[str, str], timeout: float) -> Reply:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **headers}
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, reply_headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, raw, reply_headers = error.code, error.read(), dict(error.headers)
    elapsed = time.monotonic() - started
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Reply(status, parsed, elapsed, reply_headers)


def gateway_config(sim_url: str, read_timeout: float = 2.0) -> dict[str, Any]:
    def engine(name: str, priority: int) -> dict[str, Any]:
        return {
            "name": name,
            "kind": name,
            "api_url": f"{sim_url}/{name}",
            "provider_token": f"{name}-test-key",
            "priority": priority,
            "connect_timeout": 1,
            "read_timeout": read_timeout,
        }

    return {
        "engines": [engine("smsir", 10), engine("kavenegar", 20)],
        "templates": [
            {
                "template_id": 1,
                "name": "login",
                "token_names": ["code"],
                "engines": {
                    "smsir": {"template_code": "100000", "token_keys": {"code": "CODE"}},
                    "kavenegar": {"template_code": "verify", "token_keys": {"code": "token"}},
                },
            }
        ],
    }


def stack_env(*, database_url: str, broker_url: str, cache_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    # The shared services' URLs the test run itself may carry are replaced, never inherited.
    env = {name: value for name, value in os.environ.items() if not name.startswith(("SMS_", "CELERY_", "SENTRY"))}
    env.update(
        {
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "CACHE_URL": cache_url,
            "DATA_DIR": str(data_dir),
            "DEBUG": "0",
            "SECRET_KEY": SECRET,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            # A short lease so dead workers' requests come back quickly; the task time limits stay under it
            # (system check sms.E004), and the pump hands over well within them.
            "SMS_LEASE_SECONDS": "8",
            "CELERY_TASK_SOFT_TIME_LIMIT": "6",
            "CELERY_TASK_TIME_LIMIT": "7",
            "SMS_PUMP_BUDGET_SECONDS": "3",
            # Under those limits, a wait on a database that stopped answering ends first: 2 + 2 s (check
            # sms.E006), and a lock wait ends before the statement's own limit would.
            "DB_STATEMENT_TIMEOUT": "2",
            "DB_LOCK_TIMEOUT": "1",
            "SMS_SWEEP_INTERVAL_SECONDS": "2",
            "SMS_SWEEP_GRACE_SECONDS": "1",
            "SMS_MAX_AGE_SECONDS": "600",
            "SMS_BACKOFF_BASE_SECONDS": "1",
            "SMS_BREAKER_THRESHOLD": "5",
            "SMS_BREAKER_COOLDOWN_SECONDS": "30",
            "SMS_RATE_LIMIT_PHONE": NO_LIMIT,
            "SMS_RATE_LIMIT_PREFIX": NO_LIMIT,
            "SMS_RATE_LIMIT_CLIENT": NO_LIMIT,
            "SMS_RATE_LIMIT_IP": NO_LIMIT,
        }
    )
    env.update(extra)
    return env


def build_template(base: Path) -> Postgres:
    """initdb, create the database, migrate it once (with the stacks' sweep interval stored for beat)."""
    template = Postgres.initialise(base / "pg-template")
    template.start()
    try:
        with psycopg.connect(host="127.0.0.1", port=template.port, user=PG_USER, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        env = stack_env(database_url=template.url, broker_url="memory://", cache_url="", data_dir=base / "data")
        for command in (["migrate", "--noinput"], ["createcachetable"]):
            result = subprocess.run(
                [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
            )
            assert result.returncode == 0, result.stderr[-3000:]
    finally:
        template.stop()
    return template


@contextlib.contextmanager
def faults_dir() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="sms-faults-", dir="/tmp"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


_SUMMARIES: list[Summary] = []


def record_summary(summary: Summary) -> None:
    _SUMMARIES.append(summary)
    print(f"FAULTS {summary.line()}", flush=True)


def summaries() -> list[Summary]:
    return list(_SUMMARIES)
