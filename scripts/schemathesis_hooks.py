"""What schemathesis must know about the gateway that a schema cannot say; scripts/schemathesis.sh loads it.

- ``format: phone`` is a mobile number spelled any way the API accepts (``09121234567``, ``+98 912 123 4567``,
  ``00989121234567``, Persian digits, ...). Which numbers are mobiles is phonenumbers' metadata, not a pattern.
- Templates are data: the demo providers (demo/providers.yaml) have template 1, whose one token is ``code``.
  A schema-valid body names any template id and any token names; it is sent with template 1 and the name
  ``code`` instead, keeping the generated values. Bodies generated to break the schema are sent as generated.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
import schemathesis
from hypothesis import strategies as st

TEMPLATE_ID, TOKEN_NAME = 1, "code"
_MOBILE = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _is_mobile(national: str) -> bool:
    number = phonenumbers.parse("+98" + national)
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _MOBILE


def _spell(national: str, prefix: str, separator: str, persian: bool) -> str:
    grouped = separator.join([national[:3], national[3:6], national[6:]])
    text = prefix + grouped
    return text.translate(_PERSIAN) if persian else text


schemathesis.openapi.format(
    "phone",
    st.builds(
        _spell,
        st.from_regex(r"9[0-9]{9}", fullmatch=True).filter(_is_mobile),
        st.sampled_from(["0", "+98", "+98 ", "0098", "98", ""]),
        st.sampled_from(["", " ", "-"]),
        st.booleans(),
    ),
)


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    body = case.body
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if not positive or not isinstance(body, dict) or "template_id" not in body:
        return case
    body["template_id"] = TEMPLATE_ID
    tokens = body.get("token_value")
    if isinstance(tokens, dict) and tokens:
        body["token_value"] = {TOKEN_NAME: next(iter(tokens.values()))}
    elif isinstance(tokens, list) and tokens:
        body["token_value"] = tokens[:1]
    return case
