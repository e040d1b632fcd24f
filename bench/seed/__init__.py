"""The seed's delivery design, kept as a reference: one Celery prefork process, one blocking HTTP call per send."""
