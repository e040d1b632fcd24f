"""CPU per accepted request, in one process: the real ``POST /sendsms/`` against the bare reference.

No gunicorn and no load generator, so the figure is the Django + gateway work alone and repeatable
enough to compare two commits (the full benchmark measures the stack). Rounds alternate between the
two endpoints. Needs the PostgreSQL and Redis on 127.0.0.1 (a database ``sms_accept_cpu`` is created
and dropped) or, with ``--setup embedded``, nothing.

    .venv/bin/python -m bench.accept_cpu [--requests 2000] [--rounds 3] [--setup pg|embedded]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench import stack

DATABASE = "sms_accept_cpu"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--setup", choices=["pg", "embedded"], default="pg")
    args = parser.parse_args(argv)
    with stack.in_this_process(args.setup, DATABASE):
        return _measure(args.requests, args.rounds)


def _measure(requests: int, rounds: int) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command
    from django.urls import clear_url_caches, set_urlconf

    from clients.services import client_create
    from messaging.services import pump
    from messaging.services.config import providers_load
    from messaging.tests.conftest import gateway_config

    call_command("migrate", verbosity=0)
    cache.clear()
    providers_load(data=gateway_config("http://127.0.0.1:9/"))  # nothing is sent: no worker runs
    _, key = client_create(name=f"accept-cpu-{os.urandom(3).hex()}")
    cache.set(pump.ALIVE_KEY, 1, timeout=3600)  # as under load: a pump runs, the API wakes nobody
    from bench.bare import settings as bare_settings

    stacks = {"bench.bare.urls": bare_settings.MIDDLEWARE, "smsproject.urls": list(settings.MIDDLEWARE)}

    def one_round(urlconf: str, first_phone: int) -> tuple[float, float]:
        settings.ROOT_URLCONF = urlconf
        settings.MIDDLEWARE = stacks[urlconf]  # each as its gunicorn runs it (bench/bare/settings.py)
        clear_url_caches()
        set_urlconf(None)
        handler = WSGIHandler()
        cpu, wall = time.process_time(), time.perf_counter()
        for index in range(requests):
            status: list[str] = []
            body = json.dumps(
                {"phone": f"0912{(first_phone + index) % 10_000_000:07d}", "template_id": 1, "token_value": ["123456"]}
            ).encode()
            answer = handler(_environ(body, key), lambda code, headers, status=status: status.append(code))
            b"".join(answer)
            answer.close()  # type: ignore[attr-defined]
            assert status[0].startswith("202"), status
        return (time.process_time() - cpu) / requests * 1000, (time.perf_counter() - wall) / requests * 1000

    results: dict[str, list[tuple[float, float]]] = {"bare": [], "gateway": []}
    for number in range(rounds):
        results["bare"].append(one_round("bench.bare.urls", number * requests))
        results["gateway"].append(one_round("smsproject.urls", (rounds + number) * requests))
    print(f"{requests} requests x {rounds} rounds, alternating; ms per request (median over rounds)")
    for name, figures in results.items():
        cpu = sorted(figure[0] for figure in figures)[len(figures) // 2]
        wall = sorted(figure[1] for figure in figures)[len(figures) // 2]
        print(f"  {name:8} CPU {cpu:6.3f}  wall {wall:6.3f}")
    print(f"  gateway - bare: CPU {_median_gap(results):.3f} ms")
    return 0


def _median_gap(results: dict[str, list[tuple[float, float]]]) -> float:
    gaps = sorted(g[0] - b[0] for g, b in zip(results["gateway"], results["bare"], strict=True))
    return gaps[len(gaps) // 2]


def _environ(body: bytes, key: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/sendsms/",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Token {key}",
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
