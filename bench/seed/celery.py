"""``celery -A bench.seed worker --concurrency=1``: the seed's worker on the gateway's broker and database.

Its task has the gateway's task name, so the real API's publishes reach it unchanged.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsproject.settings")

app = Celery("seed")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.include = ["bench.seed.tasks"]
