"""The Celery application. Its settings are the ``CELERY_*`` names in ``smsproject.settings``."""

import logging
import os

from celery import Celery
from celery.signals import beat_init, before_task_publish, worker_init, worker_process_init

from smsproject.heartbeats import BeatHeartbeat, WorkerHeartbeat
from smsproject.kombu_fixes import patch_redis_channel_close, patch_redis_qos_ack

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsproject.settings")
patch_redis_channel_close()  # a worker must survive Redis stopping mid-task: see the module
patch_redis_qos_ack()  # ... and a frozen Redis timing out an acknowledgement

app = Celery("smsproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# /readyz reads these (smsproject.probes).
app.steps["worker"].add(WorkerHeartbeat)
beat_init.connect(BeatHeartbeat.started, weak=False)
before_task_publish.connect(BeatHeartbeat.published, weak=False)


@worker_init.connect
@worker_process_init.connect
def _tune_process(**_: object) -> None:
    """Once the project is loaded: in the main process before it forks its pool (and does the work
    itself with the solo pool), and again in each pool process for what it loaded after the fork."""
    from common.runtime import gc_tune

    gc_tune()


@worker_init.connect
def _warn_async_commit(**_: object) -> None:
    """DB_SYNCHRONOUS_COMMIT=off is for the web processes (docs/guarantees.md): a worker's commit records
    that a provider took an SMS, and a crash that loses it sends that SMS again."""
    from django.conf import settings

    if getattr(settings, "DB_SYNCHRONOUS_COMMIT", "") == "off":
        logging.getLogger("smsproject").warning(
            "DB_SYNCHRONOUS_COMMIT=off on a worker: a database crash may lose the record of sent SMS and "
            "send them again; set it on the web processes only"
        )
