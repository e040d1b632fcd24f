"""The vendors' official Python SDKs (``kavenegar``, ``smsir-python``) against the simulator, over HTTPS on 127.0.0.1.

The Kavenegar SDK builds ``https://`` + its ``host`` attribute, so the simulator serves HTTPS with a certificate
from a throwaway CA that ``requests`` is told to trust. Both SDKs are pointed at 127.0.0.1 through their own
attributes (``KavenegarAPI.host``, ``SmsIr.ENDPOINT``); nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trustme
from kavenegar import APIException, KavenegarAPI
from sms_ir import SmsIr

from providers.simulator import start_simulator

T = TypeVar("T")
KAVENEGAR_KEY = "kavenegar-test-key"
SMSIR_KEY = "smsir-test-key"


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[str], T]], T]:
    """Runs a blocking SDK scenario in a thread while the simulator serves HTTPS at the URL it is given."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1")

    def run(scenario: Callable[[str], T]) -> T:
        async def main() -> T:
            runner, port = await start_simulator("127.0.0.1", 0, ssl_context=server_context)
            try:
                return await asyncio.to_thread(scenario, f"127.0.0.1:{port}")
            finally:
                await runner.cleanup()

        return asyncio.run(main())

    return run


def kavenegar(address: str, key: str = KAVENEGAR_KEY) -> KavenegarAPI:
    api = KavenegarAPI(key)
    api.host = f"{address}/kavenegar"
    return api


def smsir(address: str, key: str = SMSIR_KEY) -> SmsIr:
    client = SmsIr(key, 30007732)
    client.ENDPOINT = f"https://{address}/smsir"
    return client


def test_kavenegar_sdk_sends_and_reads_status_and_credit(sandbox: Any) -> None:
    def scenario(address: str) -> tuple[Any, Any, Any]:
        api = kavenegar(address)
        sent = api.verify_lookup({"receptor": "09121234567", "template": "verify", "token": "483920"})
        status = api.sms_status({"messageid": str(sent[0]["messageid"])})
        return sent, status, api.account_info()

    sent, status, account = sandbox(scenario)

    assert (sent[0]["receptor"], sent[0]["status"]) == ("09121234567", 5)
    assert status == [{"messageid": sent[0]["messageid"], "status": 10, "statustext": "رسیده به گیرنده"}]
    assert account["remaincredit"] > 0


def test_kavenegar_sdk_asks_for_a_call_and_gets_the_vendors_error_when_it_cannot_be_made(sandbox: Any) -> None:
    def scenario(address: str) -> tuple[Any, Any, str]:
        api = kavenegar(address)
        lookup = {"receptor": "09121234567", "template": "verify", "token": "483920", "type": "call"}
        called = api.verify_lookup(lookup)
        status = api.sms_status({"messageid": str(called[0]["messageid"])})
        with pytest.raises(APIException) as raised:
            api.verify_lookup({**lookup, "token2": "5"})
        return called, status, str(raised.value)

    called, status, refused = sandbox(scenario)

    assert (called[0]["receptor"], called[0]["status"]) == ("09121234567", 5)
    assert status == [{"messageid": called[0]["messageid"], "status": 10, "statustext": "رسیده به گیرنده"}]
    assert "APIException[428]" in refused


def test_kavenegar_sdk_gets_the_vendors_error_for_a_wrong_key(sandbox: Any) -> None:
    def scenario(address: str) -> str:
        api = kavenegar(address, "not-a-key")
        with pytest.raises(APIException) as raised:
            api.verify_lookup({"receptor": "09121234567", "template": "verify", "token": "1"})
        return str(raised.value)

    assert "APIException[403]" in sandbox(scenario)


def test_smsir_sdk_sends_and_reads_the_report_and_credit(sandbox: Any) -> None:
    def scenario(address: str) -> tuple[Any, Any, Any]:
        client = smsir(address)
        sent = client.send_verify_code(9121234567, 100000, [{"Name": "CODE", "Value": "483920"}])
        report = client.report_message(sent.json()["data"]["messageId"])
        credit = client.get_credit()
        return (sent.status_code, sent.json()), report.json(), (credit.status_code, credit.json())

    (status, sent), report, (credit_status, credit) = sandbox(scenario)

    assert (status, sent["status"]) == (200, 1)
    assert (report["status"], report["data"]["mobile"], report["data"]["deliveryState"]) == (1, 9121234567, 1)
    assert (credit_status, credit["status"]) == (200, 1)
    assert credit["data"] > 0


def test_smsir_sdk_gets_the_vendors_error_for_a_wrong_key(sandbox: Any) -> None:
    def scenario(address: str) -> tuple[int, Any]:
        answer = smsir(address, "not-a-key").send_verify_code(9121234567, 100000, [{"Name": "CODE", "Value": "1"}])
        return answer.status_code, answer.json()

    status, body = sandbox(scenario)

    assert (status, body["status"], body["data"]) == (401, 10, None)
