"""Engine kind -> adapter class: the one place that lists every vendor."""

from __future__ import annotations

from providers.base import ProviderAdapter
from providers.exceptions import ProviderConfigurationError
from providers.kavenegar import KavenegarAdapter
from providers.smsir import SmsIrAdapter

ADAPTERS: dict[str, type[ProviderAdapter]] = {adapter.kind: adapter for adapter in (SmsIrAdapter, KavenegarAdapter)}

KIND_CHOICES: list[tuple[str, str]] = [(kind, adapter.label) for kind, adapter in ADAPTERS.items()]


def get_adapter_class(kind: str) -> type[ProviderAdapter]:
    try:
        return ADAPTERS[kind]
    except KeyError:
        raise ProviderConfigurationError(f"unknown provider kind {kind!r}") from None
