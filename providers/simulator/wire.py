# ruff: noqa: RUF001 -- Persian text: its letters only look like Latin ones to the linter.
"""What each simulated vendor says: its request fields, its success body, its error envelope and texts.

The error texts are the vendors' own (SMS.IR's official SDK language file; Kavenegar's documented table), so
what a test sees in ``error_message`` is what production would show.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from providers.simulator.sandbox import CALL, CHANNELS, SMS, Fate, SentMessage

SMSIR_ERRORS: dict[int, str] = {
    0: "مشکلی در سامانه رخ داده است، لطفا با پشتیبانی در تماس باشید",
    10: "کلید وب سرویس نامعتبر است",
    11: "کلید وب سرویس غیرفعال است",
    12: "کلید وب سرویس محدود به IPهای تعریف شده می‌باشد",
    13: "حساب کاربری غیر فعال است",
    14: "حساب کاربری در حالت تعلیق قرار دارد",
    20: "تعداد درخواست بیشتر از حد مجاز است",
    101: "شماره خط نامعتبر می‌باشد",
    102: "اعتبار کافی نمی‌باشد",
    103: "درخواست شما دارای متن (های) خالی است",
    104: "درخواست شما دارای موبایل (های) نادرست است",
    105: "تعداد موبایل ها بیشتر از حد مجاز (100 عدد) می‌باشد",
    106: "تعداد متن ها بیشتر از حد مجاز (100 عدد) می‌باشد",
    107: "لیست موبایل ها خالی می‌باشد",
    108: "لیست متن ها خالی می‌باشد",
    109: "زمان ارسال نامعتبر می‌باشد",
    110: "تعداد شماره موبایل ها و تعداد متن ها برابر نیستند",
    111: "با این شناسه ارسالی ثبت نشده است",
    112: "رکوردی برای حذف یافت نشد",
    113: "قالب یافت نشد",
    114: "طول رشته مقدار پارامتر بیش از حد مجاز (25 کاراکتر) می‌باشد",
    115: "شماره موبایل(ها) در لیست سیاه سامانه می‌باشند",
    116: "نام یک یا چند پارامتر مقداردهی نشده‌است",
    117: "متن ارسال شده مورد تایید نمی‌باشد",
    118: "تعداد پیام‌ها بیشتر از حد مجاز می‌باشد",
    119: "به منظور استفاده از قالب شخصی‌سازی شده پلن خود را ارتقا دهید",
    123: "خط ارسال‌کننده نیاز به فعال‌سازی دارد",
}

KAVENEGAR_ERRORS: dict[int, str] = {
    400: "پارامترها ناقص هستند",
    401: "حساب کاربری غیرفعال شده است",
    402: "عملیات ناموفق بود",
    403: "کد شناسائی API-Key معتبر نمی‌باشد",
    404: "متد نامشخص است",
    405: "متد Get/Post اشتباه است",
    406: "پارامترهای اجباری خالی ارسال شده اند",
    407: "دسترسی به اطلاعات مورد نظر برای شما امکان پذیر نیست",
    409: "سرور قادر به پاسخگوئی نیست بعدا تلاش کنید",
    411: "دریافت کننده نامعتبر است",
    412: "ارسال کننده نامعتبر است",
    413: "پیام خالی است و یا طول پیام بیش از حد مجاز می‌باشد",
    414: "حجم درخواست بیشتر از حد مجاز است",
    415: "اندیس شروع بزرگ تر از کل تعداد شماره های مورد نظر است",
    416: "IP سرویس مبدا با تنظیمات مطابقت ندارد",
    417: "تاریخ ارسال اشتباه است و فرمت آن صحیح نمی باشد",
    418: "اعتبار شما کافی نمی‌باشد",
    419: "طول آرایه متن و گیرنده و فرستنده هم اندازه نیست",
    420: "استفاده از لینک در متن پیام برای شما محدود شده است",
    422: "داده ها به دلیل وجود کاراکتر نامناسب قابل پردازش نیست",
    424: "الگوی مورد نظر پیدا نشد",
    426: "استفاده از این متد نیازمند سرویس پیشرفته می‌باشد",
    427: "استفاده از این خط نیازمند ایجاد سطح دسترسی می‌باشد",
    428: "ارسال کد از طریق تماس تلفنی امکان پذیر نیست",
    429: "IP محدود شده است",
    431: "ساختار کد صحیح نمی‌باشد",
    432: "پارامتر کد در متن پیام پیدا نشد",
    451: "فراخوانی بیش از حد در بازه زمانی مشخص IP محدود شده",
    501: "فقط امکان ارسال پیام تست به شماره صاحب حساب کاربری وجود دارد",
}


SMSIR_OK = "موفق"
KAVENEGAR_OK = "تایید شد"
# Kavenegar's sms/status.json entries[].status, with the texts its documentation gives them.
KAVENEGAR_STATUS_TEXTS: dict[int, str] = {
    1: "در صف ارسال",
    2: "زمان بندی شده",
    4: "ارسال شده به مخابرات",
    5: "ارسال شده به مخابرات",
    6: "خطا در ارسال پیام",
    10: "رسیده به گیرنده",
    11: "نرسیده به گیرنده",
    13: "لغو شده",
    14: "بلاک شده",
    100: "شناسه پیامک نامعتبر است",
}
KAVENEGAR_INVALID_ID = 100
KAVENEGAR_AT_OPERATOR = 4
KAVENEGAR_FATES = {Fate.DELIVERED: 10, Fate.UNDELIVERED: 11, Fate.FAILED: 6, Fate.BLOCKED: 14}
# SMS.IR's data.deliveryState: 1 delivered, 2 not delivered to the handset, 3 at the operator, 4 not delivered to
# the operator, 5 delivered to the operator, 6 failed, 7 blacklisted, 8 unknown.
SMSIR_AT_OPERATOR = 3
SMSIR_FATES = {Fate.DELIVERED: 1, Fate.UNDELIVERED: 2, Fate.FAILED: 6, Fate.BLOCKED: 7}
SMSIR_LINE_NUMBER = 30007732
SMSIR_MAX_PARAMETER_LENGTH = 25
# Every form SMS.IR's documentation shows for a mobile number: 09..., 9..., +989..., 989..., 00989...
_SMSIR_MOBILE = re.compile(r"(?:0|\+98|98|0098)?(9\d{9})")
_KAVENEGAR_RECEPTOR = re.compile(r"09\d{9}")
_KAVENEGAR_REQUIRED = ("receptor", "template", "token")
# Kavenegar's lookup tokens: token, token2 and token3 take no spaces, token10 up to 5, token20 up to 8.
_KAVENEGAR_TOKEN_SPACES = {"token": 0, "token2": 0, "token3": 0, "token10": 5, "token20": 8}
# A call reads out one token, and only digits: ``token`` of 1 to 10 ASCII digits, no other token given.
_KAVENEGAR_CALL_TOKEN = re.compile(r"[0-9]{1,10}")
_KAVENEGAR_NOT_CALLABLE = 428
_YEAR_SECONDS = 365 * 24 * 3600
dumps = partial(json.dumps, ensure_ascii=False)  # the vendors send Persian as UTF-8, not \u escapes


@dataclass(frozen=True)
class Received:
    """The parts of a send the simulator checks and records, in vendor-neutral form."""

    body: Any  # the parsed JSON (SMS.IR) or form dict (Kavenegar); None if unparseable
    receptor: str  # as sent, e.g. "09121234567"
    national: str  # the receptor as 09XXXXXXXXX, or "" when the vendor would not take it as a mobile number
    template: str
    params: dict[str, str]
    key: str
    problem: int | None  # the vendor's error code for a malformed request, found before any account check
    channel: str = SMS  # SMS or CALL; as sent when the vendor refused it as malformed


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def _lower_keys(value: Any) -> dict[str, Any]:
    # SMS.IR binds JSON properties case-insensitively: its own SDKs send "Mobile", the docs show "mobile".
    return {str(name).lower(): item for name, item in value.items()} if isinstance(value, dict) else {}


def smsir_received(body: Any, api_key: str) -> Received:
    fields = _lower_keys(body)
    parameters = fields.get("parameters")
    items = [_lower_keys(item) for item in (parameters if isinstance(parameters, list) else [])]
    params = {str(item.get("name") or ""): "" if item.get("value") is None else str(item["value"]) for item in items}
    receptor = str(fields.get("mobile") or "")
    match = _SMSIR_MOBILE.fullmatch(receptor)
    national = "0" + match[1] if match else ""
    problem = None
    if not national:
        problem = 104
    elif any(len(value) > SMSIR_MAX_PARAMETER_LENGTH for value in params.values()):
        problem = 114
    return Received(body, receptor, national, str(fields.get("templateid") or ""), params, api_key, problem)


def smsir_success(message_id: int, message: SentMessage) -> Answer:
    data = {"messageId": message_id, "cost": float(message.cost)}
    return Answer(200, {"status": 1, "message": SMSIR_OK, "data": data})


def smsir_error(code: int) -> Answer:
    # SMS.IR's documented HTTP statuses: 401 for key and account problems, 429 when throttled, 500 for its
    # own failures, 400 for every other logical error.
    if code == 0:
        status = 500
    elif 10 <= code <= 14:
        status = 401
    elif code == 20:
        status = 429
    else:
        status = 400
    return Answer(status, {"status": code, "message": SMSIR_ERRORS.get(code, "خطا"), "data": None})


def smsir_report(message_id: int, message: SentMessage, now: float) -> Answer:
    fate = message.fate_at(now)
    data = {
        "messageId": message_id,
        "mobile": int(message.receptor),
        "messageText": message.text,
        "sendDateTime": int(message.sent_at),
        "lineNumber": SMSIR_LINE_NUMBER,
        "cost": float(message.cost),
        "deliveryState": SMSIR_AT_OPERATOR if fate is None else SMSIR_FATES[fate],
        "deliveryDateTime": None if fate is None else int(message.final_at),
    }
    return Answer(200, {"status": 1, "message": SMSIR_OK, "data": data})


def smsir_credit(balance: int) -> Answer:
    return Answer(200, {"status": 1, "message": SMSIR_OK, "data": balance})


def kavenegar_received(fields: Mapping[str, str], key: str) -> Received:
    form = dict(fields)
    receptor = form.get("receptor", "")
    national = receptor if _KAVENEGAR_RECEPTOR.fullmatch(receptor) else ""
    channel = form.get("type", SMS)
    params = {name: value for name, value in form.items() if name not in ("receptor", "template", "type")}
    problem = None
    if any(name not in form for name in _KAVENEGAR_REQUIRED) or channel not in CHANNELS:
        problem = 400
    elif any(not form[name].strip() for name in _KAVENEGAR_REQUIRED):
        problem = 406
    elif not national:
        problem = 411
    elif any(_bad_token(name, value) for name, value in params.items()):
        problem = 431
    elif channel == CALL and not _readable_in_a_call(params):
        problem = _KAVENEGAR_NOT_CALLABLE
    return Received(form, receptor, national, form.get("template", ""), params, key, problem, channel)


def _bad_token(name: str, value: str) -> bool:
    spaces = _KAVENEGAR_TOKEN_SPACES.get(name)
    if spaces is None:
        return False
    return value.count(" ") > spaces or any(char.isspace() and char != " " for char in value)


def _readable_in_a_call(params: Mapping[str, str]) -> bool:
    others = (value for name, value in params.items() if name != "token" and name in _KAVENEGAR_TOKEN_SPACES)
    return _KAVENEGAR_CALL_TOKEN.fullmatch(params["token"]) is not None and not any(others)


def kavenegar_success(message_id: int, message: SentMessage) -> Answer:
    entry = {
        "messageid": message_id,
        "message": message.text,
        "status": 5,
        "statustext": "در صف ارسال",
        "sender": "10004346",
        "receptor": message.receptor,
        "date": int(message.sent_at),
        "cost": message.cost,
    }
    return kavenegar_ok([entry])


def kavenegar_ok(entries: Any) -> Answer:
    return Answer(200, {"return": {"status": 200, "message": KAVENEGAR_OK}, "entries": entries})


def kavenegar_error(code: int) -> Answer:
    # Kavenegar answers every error with the HTTP status equal to its code.
    return Answer(code, {"return": {"status": code, "message": KAVENEGAR_ERRORS.get(code, "خطا")}, "entries": None})


def kavenegar_status_entry(asked: str, message: SentMessage | None, now: float) -> dict[str, Any]:
    if message is None:
        status = KAVENEGAR_INVALID_ID
    else:
        fate = message.fate_at(now)
        status = KAVENEGAR_AT_OPERATOR if fate is None else KAVENEGAR_FATES[fate]
    messageid: int | str = int(asked) if asked.isdigit() else asked
    return {"messageid": messageid, "status": status, "statustext": KAVENEGAR_STATUS_TEXTS[status]}


def kavenegar_account(balance: int, now: float) -> Answer:
    return kavenegar_ok({"remaincredit": balance, "expiredate": int(now) + _YEAR_SECONDS, "type": "master"})


def message_text(received: Received) -> str:
    return "کد تایید شما: " + " ".join(received.params.values())


@dataclass(frozen=True)
class Vendor:
    name: str
    success: Callable[[int, SentMessage], Answer]
    error: Callable[[int], Answer]
    # The vendor's code for each named fault mode, for a wrong key, and (if it makes calls) for a number it
    # is told it cannot call.
    codes: dict[str, int]
    cost: int  # what one message costs, in the unit the vendor's credit is counted in; a call costs the same
    channels: frozenset[str] = frozenset({SMS})


SMSIR = Vendor(
    "smsir",
    smsir_success,
    smsir_error,
    {"credit": 102, "rate_limit": 20, "bad_key": 10, "invalid_number": 104, "template_not_found": 113},
    cost=1,
)
KAVENEGAR = Vendor(
    "kavenegar",
    kavenegar_success,
    kavenegar_error,
    {
        "credit": 418,
        "rate_limit": 451,
        "bad_key": 403,
        "invalid_number": 411,
        "template_not_found": 424,
        "not_callable": _KAVENEGAR_NOT_CALLABLE,
    },
    cost=120,
    channels=frozenset(CHANNELS),
)
VENDORS: dict[str, Vendor] = {vendor.name: vendor for vendor in (SMSIR, KAVENEGAR)}
