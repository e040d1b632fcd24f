"""Runs a scenario against the real simulator on 127.0.0.1, inside ``asyncio.run`` (no pytest-asyncio here)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from providers.base import EngineConfig, Message, ProviderAdapter
from providers.registry import get_adapter_class
from providers.simulator import start_simulator

T = TypeVar("T")

KAVENEGAR_KEY = "6A4B2F7A5A6B4D4C-KEY-NEVER-LEAKS"
SMSIR_KEY = "smsir-key-never-leaks-0123456789"
PHONE = "+989121234567"
MESSAGES = {
    "smsir": Message(phone=PHONE, template_code="100200", params={"CODE": "483920"}),
    "kavenegar": Message(phone=PHONE, template_code="verify", params={"token": "483920"}),
}


@dataclass
class Harness:
    session: aiohttp.ClientSession
    url: str  # http://127.0.0.1:PORT

    async def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.session.request(method, self.url + path, json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def fault(self, provider: str, mode: str, **options: Any) -> None:
        await self.control("POST", "/_sim/fault", {"provider": provider, "mode": mode, **options})

    async def received(self, provider: str) -> list[dict[str, Any]]:
        return list((await self.control("GET", f"/_sim/received?provider={provider}"))["requests"])

    def adapter(self, kind: str, *, read_timeout: float = 2.0, token: str | None = None) -> ProviderAdapter:
        token = token or (SMSIR_KEY if kind == "smsir" else KAVENEGAR_KEY)
        config = EngineConfig(f"{self.url}/{kind}/", token, connect_timeout=1.0, read_timeout=read_timeout)
        return get_adapter_class(kind)(config)


def simulate(scenario: Callable[[Harness], Awaitable[T]]) -> T:
    async def main() -> T:
        runner, port = await start_simulator(
            "127.0.0.1",
            0,
            keys={"smsir": [SMSIR_KEY], "kavenegar": [KAVENEGAR_KEY]},
            templates={"smsir": [MESSAGES["smsir"].template_code]},
        )
        try:
            async with aiohttp.ClientSession() as session:
                return await scenario(Harness(session, f"http://127.0.0.1:{port}"))
        finally:
            await runner.cleanup()

    return asyncio.run(main())
