"""System checks: a broken verification set-up is reported at start, not at the first code."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django.core.checks import Error, register

from common.conf import gateway_settings
from common.phones import InvalidPhone, normalize_phone


@register("sms_gateway")
def check_verification_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    gateway = gateway_settings()
    problems: list[Any] = []
    if not 4 <= gateway["OTP_CODE_LENGTH"] <= 10:
        problems.append(Error("SMS_OTP_CODE_LENGTH must be 4-10.", id="verifications.E001"))
    for number, code in gateway["TEST_NUMBERS"].items():
        try:
            normalize_phone(number, allowed_regions=tuple(phonenumbers.SUPPORTED_REGIONS))
        except InvalidPhone:
            problems.append(Error(f"SMS_TEST_NUMBERS: {number!r} is not a mobile number.", id="verifications.E002"))
        if not (code.isdigit() and 4 <= len(code) <= 10):
            problems.append(
                Error(f"SMS_TEST_NUMBERS: the code of {number!r} is not 4-10 digits.", id="verifications.E003")
            )
    for key in ("OTP_TTL_SECONDS", "OTP_MAX_SENDS", "OTP_MAX_CHECKS"):
        if gateway[key] < 1:
            problems.append(Error(f"SMS_GATEWAY[{key!r}] must be at least 1.", id="verifications.E004"))
    return problems
