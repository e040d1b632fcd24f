"""Stored phones spelled with digits of other scripts (``+98912111000２``) become ASCII E.164.

Before, the parser matched any Unicode decimal digit and stored it as sent; the new check constraints
(next migration) refuse anything but ASCII, so those rows are rewritten first. Where the rewritten number
already has a pending code (or a test number) in ASCII, that one stays: the other spelling's pending code
expires, its test number goes.
"""

import unicodedata

from django.db import migrations
from django.utils import timezone

ASCII = r"^\+[0-9]*$"


def ascii_e164(phone):
    """``+`` and the phone's decimal digits in ASCII: every stored phone was ``+`` and digits of some script."""
    return "+" + "".join(str(unicodedata.decimal(char)) for char in phone if unicodedata.decimal(char, None) is not None)


def ascii_phones(apps, schema_editor):
    Verification = apps.get_model("verifications", "Verification")
    for verification in list(Verification.objects.exclude(phone__regex=ASCII).iterator()):
        phone = ascii_e164(verification.phone)
        fields = {"phone": phone}
        pending = Verification.objects.filter(
            client_id=verification.client_id, phone=phone, template_id=verification.template_id, status="pending"
        )
        if verification.status == "pending" and pending.exists():
            now = timezone.now()
            fields.update(status="expired", code_sealed="", completed_at=now, updated_at=now)
        Verification.objects.filter(pk=verification.pk).update(**fields)
    TestNumber = apps.get_model("verifications", "TestNumber")
    for number in list(TestNumber.objects.exclude(phone__regex=ASCII).iterator()):
        phone = ascii_e164(number.phone)
        if TestNumber.objects.filter(phone=phone).exists():
            number.delete()
        else:
            TestNumber.objects.filter(pk=number.pk).update(phone=phone)


class Migration(migrations.Migration):

    dependencies = [
        ("verifications", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(ascii_phones, migrations.RunPython.noop),
    ]
