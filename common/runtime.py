"""Tuning of a server process once it has loaded the project: gunicorn workers and Celery workers."""

from __future__ import annotations

import gc

from django.conf import settings


def gc_tune() -> None:
    """Hide what loading the project created from the garbage collector, and collect less often.

    A loaded worker holds ~140,000 tracked objects (Django, DRF, the project) that never become garbage.
    With Python's default threshold (a young-generation pass every 700 allocations, and older passes
    in proportion) the collector kept walking them: ~40 % of the pump's CPU per SMS at 0 ms
    (docs/benchmark.md), and a 60 ms pause in the middle of an API burst. Frozen objects are never
    walked again; before a fork, freezing also keeps children from writing to the pages they share.
    ``SMS_GC_THRESHOLD`` allocations between young-generation passes; 0 leaves Python's defaults.
    """
    gc_freeze_loaded(settings.SMS_GC_THRESHOLD)


def gc_freeze_loaded(threshold: int) -> None:
    """``gc_tune`` with the threshold given, for processes without the project's settings (the benchmark's
    load generator): collect, freeze, then a young pass every ``threshold`` allocations (0: Python's)."""
    gc.collect()
    gc.freeze()
    if threshold > 0:
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(threshold, older, oldest)
