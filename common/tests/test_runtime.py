"""Process tuning: what gunicorn's and Celery's worker hooks do to the garbage collector."""

from __future__ import annotations

import gc
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from common.runtime import gc_tune


@pytest.fixture
def gc_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("gc_restored")
def test_gc_tune_freezes_what_is_loaded_and_raises_the_young_threshold() -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    with override_settings(SMS_GC_THRESHOLD=50_000):
        gc_tune()
    assert gc.get_freeze_count() > 10_000  # the loaded project, out of every collection
    assert gc.get_threshold() == (50_000, 10, 10)  # only the young generation's threshold changes


@pytest.mark.usefixtures("gc_restored")
def test_gc_tune_with_threshold_zero_keeps_pythons_thresholds() -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    with override_settings(SMS_GC_THRESHOLD=0):
        gc_tune()
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() > 10_000


@pytest.mark.usefixtures("gc_restored")
@pytest.mark.parametrize("hook", ["celery_worker", "celery_pool_process", "gunicorn_worker"])
def test_every_server_process_is_tuned(hook: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr("common.runtime.gc_tune", lambda: calls.append("tuned"))
    if hook == "gunicorn_worker":
        path = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
        spec = importlib.util.spec_from_file_location("gunicorn_conf", path)
        assert spec is not None and spec.loader is not None
        conf: Any = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(conf)
        conf.post_worker_init(worker=None)
    else:
        from celery.signals import worker_init, worker_process_init

        from smsproject.celery import _tune_process

        signal = worker_init if hook == "celery_worker" else worker_process_init
        # Only our receiver: sending the signal would also run Celery's Django fix-up outside a worker.
        assert _tune_process in signal._live_receivers(None)
        _tune_process()
    assert calls == ["tuned"]
