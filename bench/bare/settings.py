"""The project's settings with the bare reference endpoint as the whole URL space."""

from smsproject.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare.urls"
