"""The processes a benchmark runs against, started as production runs them, and samplers that watch them.

Every server binds 127.0.0.1. Each process gets its own session so that stopping it stops its whole tree.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "sms_bench"
REDIS_URL = "redis://127.0.0.1:6379/13"
DEFAULT_WORKER_CMD = "celery -A smsproject worker -l WARNING --concurrency=1"
BEAT_CMD = "celery -A smsproject beat -l WARNING --scheduler django_celery_beat.schedulers:DatabaseScheduler"
SEED_WORKER_CMD = "celery -A bench.seed worker -l WARNING --concurrency=1 --pool=prefork"
# Sends in flight per worker process (pump and engines): the RSS target is stated at 1,000 in flight; a
# pump refills whole batches (500) once a quarter batch of room is free, so a cap of 1,000 peaks just under it.
MAX_IN_FLIGHT = int(os.environ.get("BENCH_MAX_IN_FLIGHT") or 1200)
# Variables that would point the stack at somebody else's database, broker or cache.
INHERITED = (
    "PROMETHEUS_MULTIPROC_DIR",  # each stack counts into its own data folder
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "DJANGO_SETTINGS_MODULE",
    "SENTRY_DSN",
    "DB_SYNCHRONOUS_COMMIT",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused at once."""
    return free_port()


# The limits stay on, so their cost is measured, but no benchmark load ever reaches them.
UNREACHED_RATE_LIMITS = {f"SMS_RATE_LIMIT_{scope}": "1000000000/60" for scope in ("PHONE", "PREFIX", "CLIENT", "IP")}


def stack_env(setup: str, data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in INHERITED}
    env.update(
        {
            "DATA_DIR": str(data_dir),
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-secret-key-not-for-production",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "smsproject.settings",
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.setdefault("SMS_PUMP_MAX_IN_FLIGHT", str(MAX_IN_FLIGHT))
    env.update(UNREACHED_RATE_LIMITS)
    if setup == "pg":
        env.update(
            {
                "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{PG_DATABASE}",
                "CELERY_BROKER_URL": REDIS_URL,
                "CACHE_URL": REDIS_URL,
            }
        )
    return env


def pg_database(action: str, name: str = PG_DATABASE) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if action == "create":
            connection.execute(f"CREATE DATABASE {name}")


# Any number, the same in every checkout: two runs on one server would drop each other's database.
_PG_LOCK_KEY = 0x5B_E4C4


def pg_lock() -> Any:
    """An open admin connection holding the benchmark's advisory lock; SystemExit if another run holds it."""
    import psycopg

    connection = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    row = connection.execute("SELECT pg_try_advisory_lock(%s)", [_PG_LOCK_KEY]).fetchone()
    if not row or not row[0]:
        connection.close()
        raise SystemExit(
            f"another benchmark run is using the database {PG_DATABASE} on this PostgreSQL server; "
            "wait for it to end (two runs would drop each other's database)"
        )
    return connection


class Process:
    """One command in its own session, its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.log: TextIO = self.log_path.open("a")
        self.popen = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait(10)
        self.log.close()

    def stop(self, timeout: float = 10.0) -> None:
        # The leader shuts its own children down (warm shutdown); the whole group is killed if it takes too long.
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(10)
            except ProcessLookupError:
                pass
        self.log.close()


class Simulator:
    def __init__(self, env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "providers.simulator", "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.popen.stdout is not None
        line = self.popen.stdout.readline()
        if not line.startswith("SIMULATOR_LISTENING"):
            raise RuntimeError(f"simulator did not start: {line!r}")
        self.url = line.split()[1].rstrip("/")
        self.pid = self.popen.pid

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")

    def prepare(self, latency_ms: int) -> None:
        self.call("POST", "/_sim/reset", {})
        if latency_ms:
            self.call("POST", "/_sim/fault", {"provider": "all", "mode": "latency", "latency_ms": latency_ms})

    def received(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/_sim/received")["requests"])

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)
            self.popen.wait(10)


def gunicorn(name: str, env: dict[str, str], log_dir: Path) -> tuple[Process, str]:
    port = free_port()
    argv = [
        str(VENV_BIN / "gunicorn"),
        "smsproject.wsgi:application",
        # The project's production settings (worker class and count, WEB_CONCURRENCY), for the bare
        # reference too; only the address differs.
        f"--config={ROOT / 'gunicorn.conf.py'}",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
    ]
    process = Process(name, argv, env, log_dir)
    url = f"http://127.0.0.1:{port}"
    _wait(lambda: _listening(port) or not process.alive(), 30, f"{name} listening")
    if not process.alive():
        raise RuntimeError(f"{name} exited; see {process.log_path}")
    return process, url


def workers(kind: str, count: int, env: dict[str, str], log_dir: Path, data_dir: Path) -> list[Process]:
    """The worker processes of one design; the gateway's come with beat, as production runs them."""
    command = os.environ.get("BENCH_WORKER_CMD") or DEFAULT_WORKER_CMD
    if kind == "seed":
        command, count = SEED_WORKER_CMD, 1
    started = []
    if kind == "gateway":
        beat = [*shlex.split(BEAT_CMD), "--pidfile=", f"--schedule={data_dir / 'beat-schedule'}"]
        started.append(Process("beat", beat, env, log_dir))
    for index in range(count):
        argv = shlex.split(command)
        if "celery" in argv[0] and "worker" in argv and not any(a.startswith(("-n", "--hostname")) for a in argv):
            argv.append(f"--hostname=bench-{kind}-{index}@%h")
        started.append(Process(f"worker-{kind}-{index}", argv, env, log_dir))
    return started


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def tree_pids(root: int) -> list[int]:
    """A process and all its live descendants."""
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    stack.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        found.append(pid)
    return found


def tree_rss_bytes(root: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/statm") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU time each of the given live processes has used so far."""
    used = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            continue
    return used


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two readings by the processes alive at the second (one that exited is not counted)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def pids_named(*names: str) -> list[int]:
    """Processes by command name (the shared PostgreSQL and Redis servers, which we did not start)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as comm:
                    if comm.read().strip() in names:
                        found.append(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


class Sampler(threading.Thread):
    """Calls ``probe`` every ``interval`` seconds and keeps (wall time it returned, value) pairs until stopped."""

    def __init__(self, probe: Callable[[], Any], interval: float) -> None:
        super().__init__(daemon=True)
        self.probe, self.interval = probe, interval
        self.samples: list[tuple[float, Any]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                value = self.probe()
            except Exception as exc:  # a sampler must never take the run down; the gap shows in the data
                value = f"error: {type(exc).__name__}"
            # Stamped when the probe returns: a timed probe's sample is (end, duration). Stamping before the
            # call put every commit stall one stall-length early, so the slow answers it caused were
            # counted as outside it (sessions 8-9).
            self.samples.append((time.time(), value))
            self.halt.wait(self.interval)

    def stop(self) -> list[tuple[float, Any]]:
        self.halt.set()
        self.join(5)
        return self.samples


class CommitProbe:
    """The time of one commit, what every accepted request waits for before its 202.

    PostgreSQL: a one-row INSERT on a connection of its own to the bench database, so its commit waits for
    the WAL flush like any accepted request's (a transaction that writes nothing would not flush). Embedded:
    an 8 kB write + ``fdatasync`` in the data directory, the flush of a SQLite checkpoint (a commit in WAL
    mode with ``synchronous=NORMAL`` flushes nothing; the one that triggers a checkpoint waits for it).
    Sampled beside an open-loop case, it tells a stall of the disk's flushes from a slow request path.
    """

    def __init__(self, directory: Path, database_url: str | None) -> None:
        self.connection: Any = None
        self.path: Path | None = None
        if database_url:
            import psycopg

            self.connection = psycopg.connect(database_url, autocommit=True)
            self.connection.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (at double precision)")
        else:
            self.path = directory / "commit-probe"
            self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)

    def __call__(self) -> float:
        started = time.perf_counter()
        if self.connection is not None:
            self.connection.execute("INSERT INTO bench_commit_probe VALUES (%s)", [started])
        else:
            os.pwrite(self.fd, _BLOCK, 0)
            os.fdatasync(self.fd)
        return (time.perf_counter() - started) * 1000

    def data_directory(self) -> str | None:
        """Where the database keeps its files, so the disk under it can be watched (None: not on this machine)."""
        if self.connection is None:
            return str(self.path.parent) if self.path else None
        try:
            row = self.connection.execute("SHOW data_directory").fetchone()  # superuser or pg_read_all_settings
        except Exception:  # a role without the right: the disk goes unwatched, the round runs
            return None
        return row[0] if row and os.path.isdir(row[0]) else None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.path is not None:
            os.close(self.fd)
            self.path.unlink(missing_ok=True)


_BLOCK = b"\0" * 8192  # one SQLite page write's worth


class DiskProbe:
    """The block device under a directory, as ``/proc/diskstats`` counts it: (requests in flight, completed).

    A commit stall can be the database waiting on itself or the device sitting on a write. Sampled every few
    milliseconds, a request in flight while none completes is the device's own wait: nothing in this
    machine's kernel queued in front of it (on the benchmark machine every stall was one write that the
    virtual disk held for 100-450 ms). Linux only; ``under`` gives None where it cannot tell.
    """

    def __init__(self, major: int, minor: int) -> None:
        self.key = (str(major), str(minor))

    @classmethod
    def under(cls, directory: str | Path | None) -> DiskProbe | None:
        if directory is None:
            return None
        try:
            device = os.stat(directory).st_dev
            probe = cls(os.major(device), os.minor(device))
            probe()
        except (OSError, LookupError, ValueError):
            return None
        return probe

    def __call__(self) -> tuple[int, int]:
        with open("/proc/diskstats") as stats:
            for line in stats:
                fields = line.split()
                if (fields[0], fields[1]) == self.key:
                    # reads, writes, discards and flushes completed (the last two only on newer kernels)
                    completed = sum(int(fields[i]) for i in (3, 7, 14, 18) if i < len(fields))
                    return int(fields[11]), completed
        raise LookupError(f"device {':'.join(self.key)} is not in /proc/diskstats")


def temp_data_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="sms-bench-"))


@contextlib.contextmanager
def in_this_process(setup: str, database: str) -> Iterator[None]:
    """Make this process the stack's one process (for in-process measurements): its own data folder and, on
    PostgreSQL, its own database ``database``, created now and dropped after; nothing of the caller's
    set-up leaks in."""
    data_dir = temp_data_dir()
    env = stack_env(setup, data_dir)
    if setup == "pg":
        env["DATABASE_URL"] = env["DATABASE_URL"].rsplit("/", 1)[0] + f"/{database}"
        _recreate_database(database, create=True)
    for name in INHERITED:
        os.environ.pop(name, None)
    os.environ.update(env)
    try:
        yield
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if setup == "pg":
            from django.db import connections

            connections.close_all()
            _recreate_database(database, create=False)


def _recreate_database(name: str, *, create: bool) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if create:
            connection.execute(f"CREATE DATABASE {name}")
