"""The Celery application. Its settings are the ``CELERY_*`` names in ``smsproject.settings``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsproject.settings")

app = Celery("smsproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
