"""Process tuning: what ``gc_tune`` does to the garbage collector (tests/test_process_hooks.py: who calls it)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from django.test import override_settings

from common.runtime import gc_tune


@pytest.fixture
def python_gc_defaults() -> Iterator[None]:
    """Python's own collector settings for the test, and the test process's own afterwards."""
    threshold = gc.get_threshold()
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("python_gc_defaults")
def test_gc_tune_freezes_what_is_loaded_and_raises_the_young_threshold() -> None:
    with override_settings(SMS_GC_THRESHOLD=50_000):
        gc_tune()
    assert gc.get_freeze_count() > 10_000  # the loaded project, out of every collection
    assert gc.get_threshold() == (50_000, 10, 10)  # only the young generation's threshold changes


@pytest.mark.usefixtures("python_gc_defaults")
def test_gc_tune_with_threshold_zero_keeps_pythons_thresholds() -> None:
    with override_settings(SMS_GC_THRESHOLD=0):
        gc_tune()
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() > 10_000
