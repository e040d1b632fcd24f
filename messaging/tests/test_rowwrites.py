"""update_each: one statement, many rows, each with its own values and conditions."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from messaging.models import Attempt, Engine, VerifyRequests
from messaging.rowwrites import insert_many, update_each
from messaging.tests.conftest import new_request

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_and_only_where_its_conditions_hold(gateway, api_client_key):
    held, other = uuid.uuid4(), uuid.uuid4()
    first = new_request(api_client_key[0], flag="SENDING", lease_token=held)
    second = new_request(api_client_key[0], flag="SENDING", lease_token=other)
    now = timezone.now()

    update_each(
        VerifyRequests,
        [
            (
                {"flag": "DONE", "provider_message_id": "m-1", "lease_token": None, "completed_at": now},
                {"id": first.id, "lease_token": held},
            ),
            (
                {"flag": "DONE", "provider_message_id": "m-2", "lease_token": None, "completed_at": now},
                {"id": second.id, "lease_token": held},
            ),  # not this row's lease: left alone
        ],
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.flag, first.provider_message_id, first.lease_token, first.completed_at) == ("DONE", "m-1", None, now)
    assert (second.flag, second.provider_message_id, second.lease_token) == ("SENDING", "", other)


def test_nothing_to_write_is_a_no_op(gateway, api_client_key, django_assert_num_queries):
    request = new_request(api_client_key[0], flag="SENDING")
    before = list(VerifyRequests.objects.values())

    with django_assert_num_queries(0):
        update_each(VerifyRequests, [])

    assert list(VerifyRequests.objects.values()) == before
    assert VerifyRequests.objects.get(id=request.id).flag == "SENDING"


def test_insert_many_stores_every_row_and_gives_each_its_key(gateway, api_client_key):
    request = new_request(api_client_key[0])
    engine = Engine.objects.get(name="smsir")
    attempts = [Attempt(request=request, engine=engine, round=1, outcome="in_flight") for _ in range(3)]
    attempts.append(Attempt(request=request, engine=engine, round=2, outcome="failed", http_status=500))

    insert_many(attempts)

    assert all(attempt.pk for attempt in attempts)
    stored = {a.pk: (a.round, a.outcome, a.http_status) for a in Attempt.objects.filter(request=request)}
    assert stored == {a.pk: (a.round, a.outcome, a.http_status) for a in attempts}


def test_insert_many_of_nothing_is_a_no_op(django_assert_num_queries):
    with django_assert_num_queries(0):
        insert_many([])

    assert not Attempt.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("model", [VerifyRequests, Attempt])
def test_values_passed_on_unchanged_are_what_each_field_would_hand_the_driver(model):
    from django.db import connection

    from messaging.rowwrites import _as_is, _aware

    samples = [None, "+989121234567", "", 0, 7, True, False, timezone.now(), uuid.uuid4()]
    for field in model._meta.concrete_fields:
        plain = _as_is(field, connection)
        for value in samples:
            if type(value) in plain and _aware(value):
                assert field.get_db_prep_save(value, connection) == value, (field.name, value)


def test_a_naive_datetime_in_a_single_row_is_still_prepared_by_its_field(gateway, api_client_key):
    request = new_request(api_client_key[0])
    naive = timezone.now().replace(tzinfo=None, microsecond=0)
    attempt = Attempt(request=request, engine=Engine.objects.get(name="smsir"), round=1, created_at=naive)

    with pytest.warns(RuntimeWarning, match="naive datetime"):
        insert_many([attempt])

    assert Attempt.objects.get(pk=attempt.pk).created_at == timezone.make_aware(naive)


def test_a_naive_datetime_among_many_rows_is_still_prepared_by_its_field(gateway, api_client_key):
    request = new_request(api_client_key[0])
    engine = Engine.objects.get(name="smsir")
    naive = timezone.now().replace(tzinfo=None, microsecond=0)
    aware = timezone.now().replace(microsecond=0)
    attempts = [Attempt(request=request, engine=engine, round=1, created_at=aware) for _ in range(2)]
    attempts.append(Attempt(request=request, engine=engine, round=1, created_at=naive))

    with pytest.warns(RuntimeWarning, match="naive datetime"):
        insert_many(attempts)

    stored = sorted(Attempt.objects.filter(request=request).values_list("created_at", flat=True))
    assert stored == sorted([aware, aware, timezone.make_aware(naive)])


def test_fetch_models_gives_what_the_orm_would_for_every_field(gateway, api_client_key):
    from django.db import connection

    from messaging.rowwrites import fetch_models

    stored = new_request(
        api_client_key[0], flag="SENDING", lease_token=uuid.uuid4(), lease_expires_at=timezone.now(), send_before=None
    )
    columns = ", ".join(connection.ops.quote_name(field.column) for field in VerifyRequests._meta.concrete_fields)
    table = connection.ops.quote_name(VerifyRequests._meta.db_table)

    (fetched,) = fetch_models(VerifyRequests, f"SELECT {columns} FROM {table} WHERE id = %s", [stored.id])

    expected = VerifyRequests.objects.get(id=stored.id)
    for field in VerifyRequests._meta.concrete_fields:
        assert getattr(fetched, field.attname) == getattr(expected, field.attname), field.name
    assert fetched.lease_expires_at.utcoffset().total_seconds() == 0
    assert fetched._state.adding is False


def test_awkward_text_survives_a_many_row_write(gateway, api_client_key):
    requests = [new_request(api_client_key[0]) for _ in range(3)]
    texts = ['say "hi", {now}', "back\\slash NULL", ""]
    update_each(VerifyRequests, [({"last_error": text}, {"id": r.id}) for r, text in zip(requests, texts, strict=True)])
    assert [VerifyRequests.objects.get(id=r.id).last_error for r in requests] == texts


def test_build_makes_instances_the_orm_treats_as_its_own(gateway, api_client_key):
    from messaging.rowwrites import build

    request = new_request(api_client_key[0])
    engine = Engine.objects.first()
    values = {field.attname: None for field in Attempt._meta.concrete_fields}
    values.update(request_id=request.id, engine_id=engine.id, round=1, outcome="sent", error_code="", error_message="")
    values.update(channel="sms", reason="priority: priority order")
    values["created_at"] = timezone.now()
    new = build(Attempt, values)
    assert new._state.adding
    new.save()  # an INSERT: it is new

    loaded = build(Attempt, {**values, "id": new.id, "outcome": "failed"}, db="default")
    assert not loaded._state.adding
    loaded.save(update_fields=["outcome"])  # an UPDATE of the row it names
    assert Attempt.objects.get(id=new.id).outcome == "failed"
    assert loaded.request == request and loaded.engine == engine


def test_columns_with_one_value_in_every_row_are_written_like_the_others(gateway, api_client_key):
    # On PostgreSQL such columns travel as one parameter each instead of an array; the rows must not tell.
    lease = uuid.uuid4()
    requests = [new_request(api_client_key[0], flag="SENDING", lease_token=lease) for _ in range(3)]
    now = timezone.now()

    update_each(
        VerifyRequests,
        [
            (
                {"flag": "DONE", "provider_message_id": f"m-{index}", "last_error": "", "completed_at": now},
                {"id": request.id, "lease_token": lease},
            )
            for index, request in enumerate(requests)
        ],
    )

    stored = VerifyRequests.objects.filter(id__in=[r.id for r in requests]).order_by("id")
    assert [(r.flag, r.provider_message_id, r.last_error, r.completed_at) for r in stored] == [
        ("DONE", f"m-{index}", "", now) for index in range(3)
    ]


def test_insert_many_of_identical_rows_stores_each_of_them(gateway, api_client_key):
    request = new_request(api_client_key[0])
    engine = Engine.objects.get(name="smsir")
    now = timezone.now()
    attempts = [Attempt(request=request, engine=engine, round=1, outcome="in_flight", created_at=now) for _ in range(4)]

    insert_many(attempts)

    assert len({attempt.pk for attempt in attempts}) == 4
    stored = Attempt.objects.filter(request=request)
    assert sorted(a.pk for a in stored) == sorted(a.pk for a in attempts)
    assert {(a.round, a.outcome, a.http_status, a.created_at) for a in stored} == {(1, "in_flight", None, now)}
