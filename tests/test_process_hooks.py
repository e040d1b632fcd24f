"""Every server process tunes itself once the project is loaded: gunicorn workers and Celery workers."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest


@pytest.mark.parametrize("hook", ["celery_worker", "celery_pool_process", "gunicorn_worker"])
def test_every_server_process_is_tuned(hook: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr("common.runtime.gc_tune", lambda: calls.append("tuned"))
    if hook == "gunicorn_worker":
        path = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"
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
