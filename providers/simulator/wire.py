# ruff: noqa: RUF001 -- Persian text: its letters only look like Latin ones to the linter.
"""What each simulated vendor says: its request fields, its success body, its error envelope and texts.

The error texts are the vendors' own (SMS.IR's official SDK language file; Kavenegar's documented table), so
what a test sees in ``error_message`` is what production would show.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Received:
    """The parts of a request the simulator checks and records, in vendor-neutral form."""

    body: Any  # the parsed JSON (SMS.IR) or form dict (Kavenegar); None if unparseable
    receptor: str  # as sent, e.g. "09121234567"
    template: str
    params: dict[str, str]
    key_present: bool


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def smsir_received(body: Any, api_key: str) -> Received:
    fields = body if isinstance(body, dict) else {}
    parameters = fields.get("parameters")
    params = {
        str(item.get("name")): str(item.get("value"))
        for item in (parameters if isinstance(parameters, list) else [])
        if isinstance(item, dict)
    }
    return Received(
        body=body,
        receptor=str(fields.get("mobile") or ""),
        template=str(fields.get("templateId") or ""),
        params=params,
        key_present=bool(api_key.strip()),
    )


def smsir_success(message_id: int, received: Received) -> Answer:
    return Answer(200, {"status": 1, "message": "موفق", "data": {"messageId": message_id, "cost": 1.0}})


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


def kavenegar_received(form: dict[str, str], key: str) -> Received:
    params = {name: value for name, value in form.items() if name not in ("receptor", "template")}
    return Received(
        body=form,
        receptor=form.get("receptor", ""),
        template=form.get("template", ""),
        params=params,
        key_present=bool(key.strip()),
    )


def kavenegar_success(message_id: int, received: Received) -> Answer:
    entry = {
        "messageid": message_id,
        "message": f"کد تایید شما: {received.params.get('token', '')}",
        "status": 5,
        "statustext": "در صف ارسال",
        "sender": "10004346",
        "receptor": received.receptor,
        "date": int(time.time()),
        "cost": 120,
    }
    return Answer(200, {"return": {"status": 200, "message": "تایید شد"}, "entries": [entry]})


def kavenegar_error(code: int) -> Answer:
    # Kavenegar answers every error with the HTTP status equal to its code.
    return Answer(code, {"return": {"status": code, "message": KAVENEGAR_ERRORS.get(code, "خطا")}, "entries": None})


@dataclass(frozen=True)
class Vendor:
    name: str
    success: Callable[[int, Received], Answer]
    error: Callable[[int], Answer]
    # The vendor's code for each named fault mode, and for a missing key or a malformed receptor.
    codes: dict[str, int]


SMSIR = Vendor(
    "smsir",
    smsir_success,
    smsir_error,
    {"credit": 102, "rate_limit": 20, "bad_key": 10, "invalid_number": 104, "template_not_found": 113},
)
KAVENEGAR = Vendor(
    "kavenegar",
    kavenegar_success,
    kavenegar_error,
    {"credit": 418, "rate_limit": 451, "bad_key": 403, "invalid_number": 411, "template_not_found": 424},
)
VENDORS: dict[str, Vendor] = {vendor.name: vendor for vendor in (SMSIR, KAVENEGAR)}
