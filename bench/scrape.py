"""How long a ``/metrics`` scrape takes with 10 engines, 50 templates and the files of several processes.

Six processes (as four gunicorn workers and two Celery workers would) each count into every label this
many engines and templates produce; then ``GET /metrics`` is timed through Django's WSGI handler, with its
scrape-time reads of the database and the cache. Target: 50 ms. Needs the PostgreSQL and Redis on
127.0.0.1 (a database ``sms_scrape`` is created and dropped) or, with ``--setup embedded``, nothing.

    .venv/bin/python -m bench.scrape [--scrapes 50] [--setup pg|embedded]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench import stack

DATABASE = "sms_scrape"
ENGINES, TEMPLATES, PROCESSES = 10, 50, 6
TARGET_MS = 50.0
OUTCOMES = {"sent": [""], "failed": ["http_500", "timeout", "connect_error", "10", "418"], "skipped": ["breaker_open"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--setup", choices=["pg", "embedded"], default="pg")
    args = parser.parse_args(argv)
    with stack.in_this_process(args.setup, DATABASE):
        return _measure(args.scrapes)


def _measure(scrapes: int) -> int:
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command

    from messaging.services.config import providers_load

    call_command("migrate", verbosity=0)
    cache.clear()
    engines = [f"engine{n}" for n in range(ENGINES)]
    providers_load(data=_providers(engines))
    for _ in range(PROCESSES):
        pid = os.fork()
        if pid == 0:  # a child counts into its own files, as another gunicorn or Celery process would
            _count(engines)
            os._exit(0)
        os.waitpid(pid, 0)
    handler = WSGIHandler()
    times = []
    size = 0
    for _ in range(scrapes):
        status: list[str] = []
        started = time.perf_counter()
        answer = handler(_environ(), lambda code, headers, status=status: status.append(code))
        body = b"".join(answer)
        answer.close()  # type: ignore[attr-defined]
        times.append((time.perf_counter() - started) * 1000)
        assert status[0].startswith("200"), status
        size = len(body)
    p50, worst = statistics.median(times), max(times)
    print(f"{scrapes} scrapes, {ENGINES} engines, {TEMPLATES} templates, {PROCESSES} processes' files, {size:,} bytes")
    print(f"  p50 {p50:.1f} ms  max {worst:.1f} ms")
    verdict = "PASS" if p50 <= TARGET_MS else "FAIL"
    print(f"  target: scrape p50 <= {TARGET_MS:.0f} ms: {verdict}")
    return 0 if verdict == "PASS" else 1


def _count(engines: list[str]) -> None:
    from common import metrics

    for template in range(1, TEMPLATES + 1):
        metrics.count_accepted(template)
        for event in ("started", "approved", "expired", "locked", "canceled"):
            metrics.count_verification(template, event)
    for engine in engines:
        for outcome, codes in OUTCOMES.items():
            for code in codes:
                metrics.count_attempt(engine, outcome, code, 120)
        metrics.count_configuration_error(engine, "10")
    for flag in ("DONE", "FAILED"):
        metrics.count_ended(flag)


def _providers(engines: list[str]) -> dict[str, Any]:
    return {
        "engines": [
            {"name": name, "kind": "smsir", "api_url": "http://127.0.0.1:9", "provider_token": "k", "priority": n}
            for n, name in enumerate(engines)
        ],
        "templates": [
            {
                "template_id": template,
                "name": f"template {template}",
                "token_names": ["code"],
                "engines": {name: {"template_code": str(template), "token_keys": {"code": "code"}} for name in engines},
            }
            for template in range(1, TEMPLATES + 1)
        ],
    }


def _environ() -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/metrics",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
