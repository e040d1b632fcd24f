"""What goes on the wire as the recipient is ASCII digits, whatever reached the adapter."""

from __future__ import annotations

import pytest

from providers.base import EngineConfig, Message
from providers.exceptions import TryNextProvider
from providers.registry import ADAPTERS, get_adapter_class


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
def test_a_number_with_a_digit_of_another_script_is_never_sent(kind: str) -> None:
    adapter = get_adapter_class(kind)(EngineConfig("https://127.0.0.1", "the-key", connect_timeout=3, read_timeout=5))

    with pytest.raises(TryNextProvider) as caught:
        adapter.build_request(Message("+98912111000\uff12", "1", {"code": "1"}))

    assert caught.value.code == "unsupported_number"
