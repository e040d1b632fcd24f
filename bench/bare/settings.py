"""The project's settings with the bare reference endpoint as the whole URL space."""

from smsproject.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare.urls"
# The framework's own stack, as any DRF endpoint runs it: the gateway's fast path is part of what is measured.
MIDDLEWARE = [name for name in MIDDLEWARE if name != "messaging.api.accept.FastAcceptMiddleware"]  # noqa: F405
