"""The admin's provider-health page at size: fill a PostgreSQL database with send requests, one attempt each
(a twentieth failing over to a second engine), delivery reports and verifications spread over the last
``--days`` days, then time the page's reads and the whole page as a signed-in superuser sees it.

Runs on the database ``DATABASE_URL`` names, which it empties first (never point it at one you keep):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sms_health_page DEBUG=1 \\
        .venv/bin/python -m bench.health_page [--rows 1000000] [--days 10] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

# Rows are made by the database itself (generate_series): a million in seconds, no Python per row.
FILL = """
INSERT INTO messaging_verifyrequests (
    request_sender_id, phone, operator, template_id, token_value, flag, tries, rounds, system_id,
    provider_message_id, last_error, next_attempt_at, trace_id, created_at, queued_at, updated_at,
    completed_at, delivery_state, delivery_code, delivery_text, report_polls)
SELECT %(client)s, '+98' || p.prefix || lpad((i %% 10000000)::text, 7, '0'), p.operator, %(template)s, '',
       'DONE', 1, 1, e.id, i::text, '', t, '', t, t, t, t + interval '1 second',
       (ARRAY['delivered','delivered','delivered','delivered','undelivered','pending','unknown'])[1 + i %% 7],
       '', '', 1
FROM (SELECT i, now() - (random() * %(days)s) * interval '1 day' AS t FROM generate_series(1, %(rows)s) AS i) AS s
CROSS JOIN LATERAL (SELECT (ARRAY['912','935','921'])[1 + i %% 3] AS prefix,
                           (ARRAY['IR-MCI','Irancell','Rightel'])[1 + i %% 3] AS operator) AS p
CROSS JOIN LATERAL (SELECT id FROM messaging_engine ORDER BY priority, id OFFSET (i %% 2) LIMIT 1) AS e
"""
ATTEMPTS = """
INSERT INTO messaging_attempt (request_id, engine_id, round, outcome, error_code, error_message, http_status,
                               latency_ms, created_at)
SELECT r.id, r.system_id, 1, 'sent', '', '', 200, 20 + (r.id * 7919) %% 400, r.created_at
FROM messaging_verifyrequests AS r
UNION ALL
SELECT r.id, %(first)s, 1, 'failed', 'http_503', 'Service Unavailable', 503, 1000 + r.id %% 2000,
       r.created_at - interval '1 second'
FROM messaging_verifyrequests AS r WHERE r.id %% 20 = 0
"""
VERIFICATIONS = """
INSERT INTO verifications_verification (id, client_id, phone, template_id, status, code_hash, code_sealed,
    is_test_number, send_count, failed_checks, expires_at, created_at, updated_at, send_request_id)
SELECT gen_random_uuid(), r.request_sender_id, r.phone, %(template_pk)s,
       CASE WHEN r.id %% 5 = 0 THEN 'expired' ELSE 'approved' END, repeat('0', 64), '', false, 1, 0,
       r.created_at + interval '2 minutes', r.created_at, r.created_at, r.id
FROM messaging_verifyrequests AS r WHERE r.id %% 2 = 0
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="time the rows already there; fill nothing")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsproject.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        parser.error("DATABASE_URL must name a PostgreSQL database")
    call_command("migrate", verbosity=0)
    if not args.keep:
        started = time.perf_counter()
        _fill(args.rows, args.days)
        print(f"filled {args.rows:,} requests over {args.days:g} days in {time.perf_counter() - started:.1f} s")
    _report(args.repeat)
    return 0


def _fill(rows: int, days: float) -> None:
    from django.db import connection

    from clients.models import Client
    from messaging.models import Engine, Templates

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE verifications_verification, messaging_attempt, messaging_verifyrequests RESTART IDENTITY"
        )
    engines = [
        Engine.objects.update_or_create(
            name=name, defaults={"kind": name, "api_url": "http://127.0.0.1:9/", "provider_token": "-", "priority": p}
        )[0]
        for name, p in (("smsir", 10), ("kavenegar", 20))
    ]
    template = Templates.objects.update_or_create(template_id=1, defaults={"name": "login", "token_names": ["code"]})[0]
    client = Client.objects.get_or_create(name="bench-health-page")[0]
    with connection.cursor() as cursor:
        cursor.execute(FILL, {"client": client.id, "template": template.template_id, "days": days, "rows": rows})
        cursor.execute(ATTEMPTS, {"first": engines[0].id})
        cursor.execute(VERIFICATIONS, {"template_pk": template.pk})
        for table in ("messaging_verifyrequests", "messaging_attempt", "verifications_verification"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def _report(repeat: int) -> None:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client as BrowserClient
    from django.urls import reverse
    from django.utils import timezone

    from messaging.models import Attempt, VerifyRequests
    from messaging.selectors_health import WINDOW, provider_health

    now = timezone.now()
    print(
        f"{VerifyRequests.objects.count():,} requests, {Attempt.objects.count():,} attempts;"
        f" last 24 h: {VerifyRequests.objects.filter(created_at__gte=now - WINDOW).count():,} requests"
    )
    user = User.objects.get_or_create(username="bench-ops", defaults={"is_staff": True, "is_superuser": True})[0]
    user.set_password("bench-ops-password")
    user.save()
    browser = BrowserClient(REMOTE_ADDR="127.0.0.1")  # the login form, as a person signs in
    url = reverse("provider-health")
    login = browser.post(
        f"{reverse('admin:login')}?next={url}", {"username": "bench-ops", "password": "bench-ops-password"}
    )
    assert login.status_code == 302, login.status_code

    def page() -> None:
        response = browser.get(url)
        assert response.status_code == 200, response.status_code

    _time("selectors (provider_health)", repeat, provider_health)
    _time("whole page (GET as a superuser)", repeat, page)
    print(f"PostgreSQL {connection.cursor().connection.info.server_version}")


def _time(name: str, repeat: int, work: Callable[[], object]) -> None:
    figures = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        figures.append((time.perf_counter() - started) * 1000)
    print(f"  {name}: median {statistics.median(figures):.0f} ms, max {max(figures):.0f} ms over {repeat}")


if __name__ == "__main__":
    raise SystemExit(main())
