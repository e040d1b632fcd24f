"""Twenty simultaneous checks with the right code approve exactly once (real threads, real connections)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from clients.services import client_create
from common.exceptions import ApplicationError
from messaging.models import Templates
from verifications.models import Verification
from verifications.services import verification_check, verification_start
from verifications.tests.conftest import PHONE, sent_code

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 20


def test_twenty_concurrent_right_checks_approve_exactly_once(template: Templates) -> None:
    client, _ = client_create(name="racer")
    started = verification_start(client=client, phone=PHONE, template_id=1, ip="192.0.2.1").verification
    code = sent_code(started.send_request_id)
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def racer() -> None:
        try:
            verification = Verification.objects.get(id=started.id)
            barrier.wait()
            try:
                outcome = verification_check(verification=verification, code=code).status
            except ApplicationError as exc:
                outcome = exc.code
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=racer) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(outcomes) == sorted(["approved"] + ["already_approved"] * (THREADS - 1))
    assert Verification.objects.get(id=started.id).status == "approved"


def test_twenty_concurrent_wrong_checks_never_pass_the_attempt_limit(template: Any) -> None:
    client, _ = client_create(name="guesser")
    started = verification_start(client=client, phone=PHONE, template_id=1, ip="192.0.2.1").verification
    wrong = "0000" if sent_code(started.send_request_id) != "0000" else "1111"
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def guesser() -> None:
        try:
            verification = Verification.objects.get(id=started.id)
            barrier.wait()
            outcome = verification_check(verification=verification, code=wrong).status
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=guesser) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    final = Verification.objects.get(id=started.id)
    assert (final.status, final.failed_checks) == ("max_attempts_reached", 5)
    # Every guess was answered (none ended in an error), as refused or still pending.
    assert len(outcomes) == THREADS
    assert set(outcomes) <= {"pending", "max_attempts_reached"} and "max_attempts_reached" in outcomes
