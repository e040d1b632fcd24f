"""The gateway's own cost per SMS, providers left out: ``python -m bench.overhead [--count N] [--rounds R]``.

The full benchmark's delivery figures mix three costs: HTTP (aiohttp, the same for any client), the
worker's own Python and database work, and PostgreSQL's. This isolates the last two: one pump, in this
process, drains a stored backlog against PostgreSQL and Redis on loopback while every provider call
returns "sent" at once without a socket. It prints CPU microseconds per SMS in this process and in its
PostgreSQL backend. Deliberately not an end-to-end figure: it is for comparing two versions of the pump
(run it on both, alternating) without the noise of the network, the simulator and the clock.
"""

from __future__ import annotations

import argparse
import os
import time

from bench.stack import ROOT, UNREACHED_RATE_LIMITS, pg_database

DATABASE = "sms_bench_overhead"
REDIS = "redis://127.0.0.1:6379/11"


def _configure() -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "smsproject.settings",
            "SECRET_KEY": "bench-only-secret-key-not-for-production",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "DATA_DIR": str(ROOT / "data" / "bench-overhead"),
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
            "CACHE_URL": REDIS,
            "CELERY_BROKER_URL": REDIS,
            "SENTRY_DSN": "",
            **UNREACHED_RATE_LIMITS,
        }
    )
    pg_database("create", DATABASE)
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    cache.clear()


def _backend_cpu_seconds() -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20000, help="SMS per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--routing", choices=["priority", "weighted", "adaptive"], default="priority")
    args = parser.parse_args()
    _configure()

    from django.utils import timezone

    from bench.runner import trusted_scores
    from clients.services import client_create
    from common.sealing import seal
    from messaging.models import Templates, VerifyRequests
    from messaging.services.config import providers_load
    from messaging.services.pump import requests_pump
    from messaging.tests.conftest import gateway_config
    from providers.base import Message, Outcome, ProviderAdapter, SendResult

    async def sent_at_once(self: ProviderAdapter, session: object, message: Message) -> SendResult:
        return SendResult(Outcome.SENT, message_id="1", http_status=200, latency_ms=0)

    ProviderAdapter.send = sent_at_once  # type: ignore[method-assign]
    config = gateway_config("http://127.0.0.1:9")  # port 9 is never called
    config["templates"][0]["routing"] = args.routing
    providers_load(data=config)
    if args.routing == "adaptive":
        trusted_scores()
    client = client_create(name="overhead")[0]
    template = Templates.objects.get(template_id=1)
    print(
        f"{args.count} SMS a round, one pump in this process, providers answering at once without a socket, "
        f"{args.routing} routing"
    )
    for round_ in range(args.rounds):
        now = timezone.now()
        rows = [
            VerifyRequests(
                request_sender=client,
                phone=f"+98912{round_ % 10}{index:06d}",
                template=template,
                token_value=seal({"code": "123456"}),
                next_attempt_at=now,
                created_at=now,
                queued_at=now,
            )
            for index in range(args.count)
        ]
        VerifyRequests.objects.bulk_create(rows, batch_size=2000)
        postgres, cpu, wall = _backend_cpu_seconds(), time.process_time(), time.perf_counter()
        claimed = requests_pump(budget_seconds=600)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        postgres = _backend_cpu_seconds() - postgres
        done = VerifyRequests.objects.filter(flag=VerifyRequests.Flag.DONE).count()
        assert claimed == done == args.count, (claimed, done)
        print(
            f"round {round_ + 1}: worker {1e6 * cpu / claimed:.0f} µs/SMS, PostgreSQL {1e6 * postgres / claimed:.0f}"
            f" µs/SMS, wall {wall:.1f} s (of which ~{_idle_exit():.1f} s the pump's idle wait before it exits)"
        )
        VerifyRequests.objects.all().delete()


def _idle_exit() -> float:
    from common.conf import gateway_settings
    from messaging.services.pump import ALIVE_MEMO_SECONDS

    return float(gateway_settings()["PUMP_IDLE_EXIT_SECONDS"]) + ALIVE_MEMO_SECONDS


if __name__ == "__main__":
    main()
