"""Keys' last-used times, kept off the request: noted in memory, written after the response, once a minute.

An accept costs one dictionary look-up for this. The first use of a key in a minute (per process) marks
it due; when the response has been sent (``request_finished``), the process claims the minute for the
key with a cache ``add`` shared by every process, and the one that gets it writes one UPDATE, in its own
autocommit statement, outside the request's transaction. So a key is written at most once a minute
whatever the number of processes, and ``last_used_at`` is at most a minute behind.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.core.signals import request_finished
from django.dispatch import receiver
from django.utils import timezone

from clients.models import ClientKey
from common.memo import Memo

logger = logging.getLogger(__name__)

WRITE_EVERY_SECONDS = 60
_noted: Memo[int, bool] = Memo(WRITE_EVERY_SECONDS)
_due: set[int] = set()


def key_used(key_id: int) -> None:
    if _noted.get(key_id) is None:
        _noted.put(key_id, True)
        _due.add(key_id)


@receiver(request_finished)
def keys_used_write(**kwargs: Any) -> None:
    while _due:
        try:
            key_id = _due.pop()
        except KeyError:  # another thread took the last one
            return
        try:
            if cache.add(f"client-key-used:{key_id}", 1, timeout=WRITE_EVERY_SECONDS):
                ClientKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())
        except Exception as exc:  # the answer is sent: a lost last-used time must not turn into an error
            logger.warning("could not record a key's last use: %s", type(exc).__name__)
