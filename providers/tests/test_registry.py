from __future__ import annotations

import pytest

from providers.base import EngineConfig
from providers.exceptions import ProviderConfigurationError, ProviderError
from providers.kavenegar import KavenegarAdapter
from providers.registry import ADAPTERS, KIND_CHOICES, get_adapter_class
from providers.smsir import SmsIrAdapter


def test_registry_lists_both_vendors_with_labels() -> None:
    assert {"smsir": SmsIrAdapter, "kavenegar": KavenegarAdapter} == ADAPTERS
    assert KIND_CHOICES == [("smsir", "SMS.IR"), ("kavenegar", "Kavenegar")]


def test_unknown_kind_is_a_configuration_error_outside_the_provider_error_tree() -> None:
    with pytest.raises(ProviderConfigurationError):
        get_adapter_class("twilio")

    assert not issubclass(ProviderConfigurationError, ProviderError)


@pytest.mark.parametrize(
    ("api_url", "token", "timeout"),
    [
        ("https://api.sms.ir", "   ", 1.0),
        ("ftp://api.sms.ir", "key", 1.0),
        ("api.sms.ir", "key", 1.0),
        ("https://", "key", 1.0),
        ("https://api.sms.ir", "key", 0.0),
    ],
)
def test_unusable_engine_configuration_is_refused(api_url: str, token: str, timeout: float) -> None:
    with pytest.raises(ProviderConfigurationError):
        SmsIrAdapter(EngineConfig(api_url, token, connect_timeout=1.0, read_timeout=timeout))


def test_trailing_slash_and_spaces_are_stripped_from_api_url() -> None:
    adapter = KavenegarAdapter(EngineConfig(" http://127.0.0.1:8900/kavenegar/ ", "key", 1.0, 1.0))

    assert adapter.api_url == "http://127.0.0.1:8900/kavenegar"
