"""Which engines a template may be sent through, best first, and the adapter for each engine.

Read for every batch of sends, and by the report and credit pollers; both are kept per process.
"""

from __future__ import annotations

import functools
import logging
import uuid

from django.core.cache import cache

from common.memo import Memo
from messaging.models import Engine, TemplatesEngine
from providers.base import EngineConfig, ProviderAdapter
from providers.registry import get_adapter_class

logger = logging.getLogger(__name__)

# Every batch needs its templates' routes, and engines change rarely: each process keeps them, tagged
# with the routing version they were read under. Saving an engine, template or mapping sets a new
# version (messaging.signals), so every worker reloads at its next batch; an edit that bypasses
# signals (a queryset update) is seen within ROUTES_MEMO_SECONDS. Cache down: read every time.
ROUTES_MEMO_SECONDS = 2.0
ROUTES_VERSION_KEY = "sms:routes:version"
_routes: Memo[int, tuple[str, list[TemplatesEngine]]] = Memo(ROUTES_MEMO_SECONDS)


def routes_changed() -> None:
    """Make every process read routes afresh. Never raises: a cache outage must not fail an admin save."""
    try:
        cache.set(ROUTES_VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception as exc:
        logger.warning("could not publish a routes change: %s", type(exc).__name__)


def _routes_version() -> str | None:
    try:
        version = cache.get(ROUTES_VERSION_KEY)
        if version is None:  # a cache emptied since: a new version
            cache.add(ROUTES_VERSION_KEY, uuid.uuid4().hex, timeout=None)
            version = cache.get(ROUTES_VERSION_KEY)
    except Exception:
        return None
    return str(version) if version else None


def routes_by_template(template_ids: set[int]) -> dict[int, list[TemplatesEngine]]:
    """Each template's enabled engines, best first."""
    version = _routes_version()
    routes: dict[int, list[TemplatesEngine]] = {}
    for template_id in template_ids:
        known = _routes.get(template_id)
        if version is not None and known is not None and known[0] == version:
            routes[template_id] = known[1]
    missing = template_ids - set(routes)
    if missing:
        fresh: dict[int, list[TemplatesEngine]] = {template_id: [] for template_id in missing}
        mappings = (
            TemplatesEngine.objects.select_related("engine", "template")
            .filter(template__template_id__in=missing, engine__enabled=True)
            .order_by("engine__priority", "engine_id")
        )
        for mapping in mappings:
            fresh[mapping.template.template_id].append(mapping)
        for template_id, found in fresh.items():
            if version is not None:
                _routes.put(template_id, (version, found))
            routes[template_id] = found
    return routes


@functools.lru_cache(maxsize=64)
def _adapter(kind: str, api_url: str, token: str, connect_timeout: float, read_timeout: float) -> ProviderAdapter:
    """One adapter per engine configuration, reused by every send (adapters hold no per-send state).
    An edited engine has a new configuration, so it gets a new adapter; a bad one raises and is not kept."""
    config = EngineConfig(api_url=api_url, token=token, connect_timeout=connect_timeout, read_timeout=read_timeout)
    return get_adapter_class(kind)(config)


def engine_adapter(engine: Engine) -> ProviderAdapter:
    """The adapter for ``engine`` as configured now; raises ``ProviderConfigurationError`` for an unusable one."""
    return _adapter(engine.kind, engine.api_url, engine.provider_token, engine.connect_timeout, engine.read_timeout)
