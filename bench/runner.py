"""``bash bench/run.sh``: start the stack, run every case in alternating rounds, report, stop everything."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import stack
from bench.cases import Case, cases_select
from bench.loadgen import e164, phone
from bench.metrics import DISK_INTERVAL, PROBE_INTERVAL, commit_figures, disk_figures, round_metrics

RESULTS = stack.ROOT / "bench" / "results"
WARMUP_PHONE = "09190000000"  # outside the generator's 0912 range
RSS_INTERVAL = 0.1
QUEUE_INTERVAL = 0.5
# Each case's generator gets its own block of phone numbers, so no number is ever used twice in a run.
PHONE_BLOCK = 200_000
# Numbers have seven digits after the prefix: 50 blocks, then the blocks are used again. Every case starts
# with an empty database and a reset simulator, so only the cases in between must not share a block.
PHONE_BLOCKS = 10_000_000 // PHONE_BLOCK


def client_missing(client: str) -> str:
    """Why a ceiling client cannot run here ("" if it can): httpx and httpx-aiohttp are development
    requirements only, so a production-only environment skips those lines and says so."""
    needed = {"httpx": "httpx", "httpx_default": "httpx", "httpx_aiohttp": "httpx_aiohttp"}.get(client)
    if needed is None:
        return ""
    try:
        importlib.import_module(needed)
    except ImportError:
        return f"{needed} is not installed"
    return ""


def setup_missing(case: Case, args: argparse.Namespace) -> str:
    """Why a case cannot run on this set-up ("" if it can)."""
    if any(key == "DB_SYNCHRONOUS_COMMIT" for key, _ in case.api_env) and args.setup != "pg":
        return "PostgreSQL's synchronous_commit; SQLite here already commits without a flush (synchronous=NORMAL)"
    return ""


class Bench:
    def __init__(self, args: argparse.Namespace, cases: list[Case], out: Path) -> None:
        self.args, self.cases, self.out = args, cases, out
        self.log_dir = out / "logs"
        self.log_dir.mkdir(parents=True)
        self.data_dir = stack.temp_data_dir()
        self.env = stack.stack_env(args.setup, self.data_dir)
        # name -> (gunicorn, base URL): "api", "bare", and "seed-api" (the API publishing one task per id)
        self.servers: dict[str, tuple[stack.Process, str]] = {}
        self.workers: list[stack.Process] = []
        self.sim: stack.Simulator | None = None
        self.key = ""
        self.blocks = 0

    # --- the stack -------------------------------------------------------------------------------
    def start(self) -> None:
        if self.args.setup == "pg":
            stack.pg_database("create")
        # This process becomes a client of the stack: the caller's set-up (say CI's PostgreSQL URL) must not leak in.
        for name in stack.INHERITED:
            os.environ.pop(name, None)
        os.environ.update(self.env)
        import django

        django.setup()
        from django.core.management import call_command

        from clients.services import client_create

        call_command("migrate", verbosity=0, interactive=False)
        call_command("createcachetable", verbosity=0)
        self.key = client_create(name=f"bench-{int(time.time())}")[1]
        self.sim = stack.Simulator(self.env)
        self.load_config(failover=False)
        variants: dict[str, dict[str, str]] = {"api": {}}
        for case in self.cases:
            if case.server == "bare":
                variants["bare"] = {"DJANGO_SETTINGS_MODULE": "bench.bare.settings"}
            elif case.server == "seed-api":  # its worker only knows the seed's one task per request
                variants["seed-api"] = {"SMS_PUMP_ENABLED": "0"}
            elif case.target == "api":
                variants[case.server] = dict(case.api_env)
        for name, overrides in sorted(variants.items()):
            self.servers[name] = stack.gunicorn(name, {**self.env, **overrides}, self.log_dir)
            self.warm_server(self.servers[name][1])

    def warm_server(self, api_url: str) -> None:
        """Every gunicorn worker imports and connects lazily: let the first requests pay for that, unmeasured."""
        for _ in range(4 * (os.cpu_count() or 1)):
            self.post(api_url)

    def stop(self) -> None:
        self.stop_workers()
        for process, _ in self.servers.values():
            process.stop()
        if self.sim:
            self.sim.stop()
        from django.core.cache import cache
        from django.db import connections

        if self.args.setup == "pg":
            cache.clear()  # Redis db 13: the broker's queues and the cache's counters
        connections.close_all()
        if self.args.setup == "pg":
            stack.pg_database("drop")
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def phone_block(self) -> int:
        """The first number of the next block of numbers (a case's feed or backlog)."""
        self.blocks += 1
        return ((self.blocks - 1) % PHONE_BLOCKS) * PHONE_BLOCK

    def load_config(
        self, *, failover: bool, engine_default_in_flight: bool = False, only: str = "", routing: str = "priority"
    ) -> None:
        from messaging.models import Engine
        from messaging.services.config import providers_load
        from messaging.tests.conftest import gateway_config

        assert self.sim is not None
        config = gateway_config(self.sim.url)
        # Calls each engine may have in flight per worker process: the targets are stated at 1,000 in flight,
        # and the cap is a little over that so the measured peak reaches 1,000 (stack_env sets the pump's too).
        # (an engine's own default is 100, a conservative guess at a provider's rate limit).
        if engine_default_in_flight:  # said, not left out: loading keeps a value a previous case set
            in_flight = Engine._meta.get_field("max_in_flight").get_default()
        else:
            in_flight = int(os.environ.get("BENCH_MAX_IN_FLIGHT") or stack.MAX_IN_FLIGHT)
        for engine in config["engines"]:
            engine["max_in_flight"] = in_flight
            engine["enabled"] = not only or engine["name"] == only  # said every time, like the cap
        if failover:
            config["engines"][0]["api_url"] = f"http://127.0.0.1:{stack.closed_port()}/smsir"
        config["templates"][0]["routing"] = routing
        providers_load(data=config)
        if routing == "adaptive":
            trusted_scores()

    def stop_workers(self) -> None:
        # Everything they leave behind (unacked messages, SENDING rows) is flushed before the next case.
        for worker in self.workers:
            worker.kill()
        self.workers = []

    def reset(self, case: Case) -> None:
        """Nothing of the previous case survives: no worker, no message, no row, no breaker state."""
        from django.core.cache import cache
        from django.db import connection

        from messaging.models import Attempt, VerifyRequests

        self.stop_workers()
        # On Redis this flushes db 13, broker queues included; workers re-declare theirs when they start.
        cache.clear()
        broker = self.data_dir / "broker"
        for folder in ("out", "processed"):
            for message in (broker / folder).glob("*"):
                message.unlink(missing_ok=True)
        with connection.cursor() as cursor:
            for model in (Attempt, VerifyRequests):
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(
                    f"TRUNCATE {table} CASCADE" if connection.vendor == "postgresql" else f"DELETE FROM {table}"
                )
        # The warm-up runs at the case's cap too: a worker keeps the cap it first sends under until it is edited.
        self.load_config(failover=False, engine_default_in_flight=case.engine_default_in_flight, routing=case.routing)
        assert self.sim is not None
        self.sim.prepare(0)
        if case.worker and not case.worker_after_feed:
            self.workers = stack.workers(case.worker, self.args.workers, self.env, self.log_dir, self.data_dir)
            self.warm_up(self.servers[case.server][1])
        self.load_config(
            failover=case.failover,
            engine_default_in_flight=case.engine_default_in_flight,
            only=case.reports,
            routing=case.routing,
        )
        self.sim.prepare(case.latency_ms)

    def post(self, api_url: str) -> None:
        body = json.dumps({"phone": WARMUP_PHONE, "template_id": 1, "token_value": {"code": "111111"}}).encode()
        request = urllib.request.Request(
            f"{api_url}/sendsms/",
            data=body,
            headers={"Authorization": f"Token {self.key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 202, response.status

    def warm_up(self, api_url: str) -> None:
        """One request end to end: the worker is consuming once the simulator sees it."""
        assert self.sim is not None
        self.post(api_url)
        deadline = time.monotonic() + 90
        while not self.sim.received():
            if time.monotonic() > deadline or not all(worker.alive() for worker in self.workers):
                raise RuntimeError(f"worker never delivered the warm-up request; see {self.log_dir}")
            time.sleep(0.1)
        time.sleep(0.5)

    # --- one round of one case ---------------------------------------------------------------------
    def run_round(self, case: Case, count: int) -> dict[str, Any]:
        assert self.sim is not None
        if case.target != "bare":
            self.reset(case)
        else:
            self.stop_workers()
        server = self.servers[case.server][0] if case.target != "smsir" else None
        rss = stack.Sampler(
            lambda: {
                "api": stack.tree_rss_bytes(server.pid) if server else 0,
                "worker": sum(stack.tree_rss_bytes(w.pid) for w in self.workers if w.name != "beat"),
            },
            RSS_INTERVAL,
        )
        queue = stack.Sampler(self.queue_depth, QUEUE_INTERVAL) if case.target == "api" else None
        # Open-loop cases judge a latency tail: sample the commit every accepted request waits for beside them.
        probe = stack.CommitProbe(self.data_dir, self.env.get("DATABASE_URL")) if case.rate else None
        probes = stack.Sampler(probe, PROBE_INTERVAL) if probe else None
        disk = stack.DiskProbe.under(probe.data_directory()) if probe else None
        disks = stack.Sampler(disk, DISK_INTERVAL) if disk else None
        for sampler in (rss, queue, probes, disks):
            if sampler:
                sampler.start()
        started = time.time()
        cpu_before = self.cpu(server)
        children_before = self.children_cpu()
        if case.worker_after_feed:
            self.hold_worker()
        generated = self.backlog(case, count) if case.backlog else self.generate(case, count)
        loadgen_cpu = self.children_cpu() - children_before
        if case.worker and case.worker_after_feed:
            self.start_held_worker(case)
        drain_seconds = self.drain(case) if case.target == "api" else 0.0
        cpu = {key: stack.cpu_spent(cpu_before.get(key, {}), now) for key, now in self.cpu(server).items()}
        cpu.update({"loadgen": loadgen_cpu, "wall": time.time() - started})
        polled = self.poll_reports(case) if case.reports else {}
        rss_samples = rss.stop()
        queue_samples = queue.stop() if queue else []
        probe_samples = probes.stop() if probes else []
        disk_samples = disks.stop() if disks else []
        if probe:
            probe.close()
            if os.environ.get("BENCH_KEEP_LOADGEN"):  # beside the requests, to lay stalls over slow answers
                (self.out / "logs" / f"probe-{case.name}.json").write_text(json.dumps(probe_samples))
        received = self.sim.received()
        metrics = round_metrics(
            records=generated["records"],
            received=received,
            latency_ms=case.latency_ms,
            target=case.target,
            failover=case.failover,
            backlog=case.backlog,
        )
        metrics.update(self.final_states(metrics) if case.target == "api" else {})
        metrics.update(polled)
        metrics.update(commit_figures(generated["records"], probe_samples) if probes else {})
        metrics.update(disk_figures(generated["records"], disk_samples) if disks else {})
        peaks = [sample for _, sample in rss_samples if isinstance(sample, dict)]
        metrics.update(
            {
                "started": started,
                "cpu": cpu,
                "drain_seconds": drain_seconds,
                "api_peak_rss_mb": max((p["api"] for p in peaks), default=0) / 2**20,
                "worker_peak_rss_mb": max((p["worker"] for p in peaks), default=0) / 2**20,
                "queue_depth": [(t, depth) for t, depth in queue_samples if isinstance(depth, int)],
            }
        )
        return metrics

    @staticmethod
    def hold_worker() -> None:
        """The API sees a pump's alive mark, as it does under load, so it wakes nobody; none runs yet."""
        from django.core.cache import cache

        from messaging.services import pump

        cache.set(pump.ALIVE_KEY, 1, timeout=3600)

    def start_held_worker(self, case: Case) -> None:
        from django.core.cache import cache

        from messaging.services import pump

        assert case.worker
        cache.delete(pump.ALIVE_KEY)
        self.workers = stack.workers(case.worker, self.args.workers, self.env, self.log_dir, self.data_dir)
        pump.pump_wake(even_if_running=True)

    def generate(self, case: Case, count: int) -> dict[str, Any]:
        out = self.out / "logs" / f"loadgen-{case.name}.json"
        assert self.sim is not None
        url = self.sim.url if case.target == "smsir" else self.servers[case.server][1]
        argv = [
            sys.executable, "-m", "bench.loadgen",
            "--target", "smsir" if case.target == "smsir" else "api",
            "--url", url, f"--key={self.key}", "--count", str(count),
            "--max-seconds", str(case.feed_seconds), "--connections", str(case.connections),
            "--phone-start", str(self.phone_block()), "--client", case.client, "--out", str(out),
        ]  # fmt: skip
        if case.rate:
            argv += ["--rate", str(case.rate)]
        subprocess.run(argv, cwd=stack.ROOT, env=self.env, check=True, timeout=case.feed_seconds + 120)
        result: dict[str, Any] = json.loads(out.read_text())
        if not os.environ.get("BENCH_KEEP_LOADGEN"):  # kept on request, to study single requests
            out.unlink()
        return result

    def cpu(self, server: stack.Process | None) -> dict[str, dict[int, float]]:
        assert self.sim is not None
        workers = [pid for w in self.workers if w.name != "beat" for pid in stack.tree_pids(w.pid)]
        return {
            "api": stack.cpu_seconds(stack.tree_pids(server.pid)) if server else {},
            "worker": stack.cpu_seconds(workers),
            "simulator": stack.cpu_seconds([self.sim.pid]),
            "postgres+redis": stack.cpu_seconds(stack.pids_named("postgres", "redis-server")),
        }

    @staticmethod
    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def backlog(self, case: Case, count: int) -> dict[str, Any]:
        """Store ``count`` requests at once and announce them the way each design is told of new work."""
        from django.db import transaction
        from django.utils import timezone

        from clients.models import Client
        from common.sealing import seal
        from messaging.models import Templates, VerifyRequests
        from messaging.publishing import publish_now
        from messaging.services.requests import requests_announce

        client = Client.objects.get(keys__prefix=self.key[:8])
        template = Templates.objects.get(template_id=1)
        first = self.phone_block()
        now = timezone.now()
        rows = [
            VerifyRequests(
                request_sender=client,
                phone=e164(phone(first + index)),
                template=template,
                token_value=seal({"code": f"{index % 1000000:06d}"}),
                next_attempt_at=now,
                created_at=now,
                queued_at=now,
            )
            for index in range(count)
        ]
        with transaction.atomic():
            stored = VerifyRequests.objects.bulk_create(rows, batch_size=1000)
            ids = (
                [row.id for row in stored]
                if stored[0].id
                else list(
                    VerifyRequests.objects.filter(phone__in=[row.phone for row in rows]).values_list("id", flat=True)
                )
            )
            if case.worker == "seed":
                transaction.on_commit(lambda: publish_now(ids))
            else:
                requests_announce(ids)
        announced = time.time()
        return {"records": [[phone(first + i), announced, announced, 202, None] for i in range(count)]}

    def poll_reports(self, case: Case) -> dict[str, Any]:
        """Make every delivered request's report due now, run the poller as beat does (once a second here) until
        each has a final state, and count the status calls the simulator answered and the workers' CPU."""
        from celery import current_app
        from django.utils import timezone

        from messaging.models import VerifyRequests

        assert self.sim is not None
        rows = VerifyRequests.objects.exclude(phone="+98" + WARMUP_PHONE[1:])
        calls_before = self.sim.call("GET", "/_sim/stats")["providers"][case.reports]["status_calls"]
        cpu_before = self.cpu(None)["worker"]
        started = time.monotonic()
        rows.filter(delivery_state=VerifyRequests.Delivery.PENDING).update(report_next_at=timezone.now())
        while rows.filter(delivery_state=VerifyRequests.Delivery.PENDING).exists():
            if time.monotonic() - started > case.drain_seconds:
                break
            current_app.send_task("messaging.poll_delivery_reports", expires=1)
            time.sleep(1)
        seconds = time.monotonic() - started
        calls = self.sim.call("GET", "/_sim/stats")["providers"][case.reports]["status_calls"] - calls_before
        return {
            "reports": rows.exclude(delivery_state__in=["", VerifyRequests.Delivery.PENDING]).count(),
            "reports_pending": rows.filter(delivery_state=VerifyRequests.Delivery.PENDING).count(),
            "report_status_calls": calls,
            "report_worker_cpu": stack.cpu_spent(cpu_before, self.cpu(None)["worker"]),
            "report_seconds": seconds,
        }

    def queue_depth(self) -> int:
        from django.db import close_old_connections

        from messaging.models import VerifyRequests

        close_old_connections()
        flags = [VerifyRequests.Flag.PENDING, VerifyRequests.Flag.SENDING]
        return VerifyRequests.objects.filter(flag__in=flags).count()

    def drain(self, case: Case) -> float:
        started = time.monotonic()
        while time.monotonic() - started < case.drain_seconds and self.queue_depth():
            time.sleep(0.25)
        return time.monotonic() - started

    def final_states(self, metrics: dict[str, Any]) -> dict[str, Any]:
        from django.db.models import Count

        from messaging.models import VerifyRequests

        rows = VerifyRequests.objects.exclude(phone="+98" + WARMUP_PHONE[1:])
        flags = {row["flag"]: row["n"] for row in rows.values("flag").annotate(n=Count("id"))}
        stored = sum(flags.values())
        return {
            "flags": flags,
            "unfinished": flags.get("PENDING", 0) + flags.get("SENDING", 0),
            # A 202 the database does not hold is a lost request.
            "missing": max(0, metrics["accepted"] - stored),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bash bench/run.sh", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few hundred requests per case (CI smoke)")
    parser.add_argument("--setup", choices=["pg", "embedded"], default="pg")
    parser.add_argument("--cases", nargs="*", default=[], help="case names or prefixes (default: all)")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 2; --quick 1)")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("BENCH_WORKERS", "1")),
        help="gateway worker processes, each running BENCH_WORKER_CMD (env BENCH_WORKERS)",
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default bench/results/<timestamp>.json)")
    args = parser.parse_args(argv)
    names = [name for item in args.cases for name in item.split(",") if name]
    cases = cases_select(names)
    rounds = args.rounds or (1 if args.quick else 2)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    json_path = args.out or RESULTS / f"{stamp}.json"
    work = RESULTS / f"{stamp}-{os.getpid()}"
    skipped = {case.name: why for case in cases if (why := client_missing(case.client) or setup_missing(case, args))}
    bench = Bench(args, [case for case in cases if case.name not in skipped], work)
    from bench.report import report

    runs: dict[str, list[dict[str, Any]]] = {case.name: [] for case in cases if case.name not in skipped}
    lock = stack.pg_lock() if args.setup == "pg" else None
    began = time.time()
    try:
        bench.start()
        for index in range(rounds):
            for case in cases:
                if case.name in skipped:
                    continue
                total = case.quick_count if args.quick else case.count
                count = max(1, total // rounds)
                print(f"[round {index + 1}/{rounds}] {case.name}: {count} requests ...", end=" ", flush=True)
                began_case = time.monotonic()
                runs[case.name].append(bench.run_round(case, count))
                print(f"{time.monotonic() - began_case:.1f} s", flush=True)
    finally:
        bench.stop()
        if lock is not None:
            lock.close()  # the session ends, and with it the advisory lock
    meta = {
        "setup": args.setup,
        "quick": args.quick,
        "rounds": rounds,
        "workers": args.workers,
        "worker_cmd": os.environ.get("BENCH_WORKER_CMD") or stack.DEFAULT_WORKER_CMD,
        "cpus": os.cpu_count(),
        "seconds": round(time.time() - began, 1),
        "logs": str(work / "logs"),
    }
    return report(cases=cases, runs=runs, skipped=skipped, meta=meta, json_path=json_path)


if __name__ == "__main__":
    sys.exit(main())


def trusted_scores() -> None:
    """Scores for every operator the benchmark's numbers fall under, above the minimum sample, SMS.IR ahead."""
    from messaging.models import Engine, VerifyRequests
    from messaging.services.scores import Outcomes, scores_rebuild, scores_record

    scores_rebuild()
    learned = Outcomes()
    for engine in Engine.objects.all():
        for operator in ("IR-MCI", "Irancell", "Rightel", ""):
            for index in range(50):
                delivered = engine.kind == "smsir" or index % 10
                state = VerifyRequests.Delivery.DELIVERED if delivered else VerifyRequests.Delivery.UNDELIVERED
                learned.report(engine.id, operator, state)
    scores_record(learned)
