"""Stored phones spelled with digits of other scripts (``+98912111000２``) become ASCII E.164.

Before, the parser matched any Unicode decimal digit and stored it as sent; the new check constraint
(next migration) refuses anything but ASCII, so those rows are rewritten first.
"""

import unicodedata

from django.db import migrations


def ascii_e164(phone):
    """``+`` and the phone's decimal digits in ASCII: every stored phone was ``+`` and digits of some script."""
    return "+" + "".join(str(unicodedata.decimal(char)) for char in phone if unicodedata.decimal(char, None) is not None)


def ascii_phones(apps, schema_editor):
    VerifyRequests = apps.get_model("messaging", "VerifyRequests")
    rows = VerifyRequests.objects.exclude(phone__regex=r"^\+[0-9]*$").values_list("pk", "phone")
    for pk, phone in list(rows.iterator()):
        VerifyRequests.objects.filter(pk=pk).update(phone=ascii_e164(phone))


class Migration(migrations.Migration):

    dependencies = [
        ("messaging", "0004_delivery_reports_and_credit"),
    ]

    operations = [
        migrations.RunPython(ascii_phones, migrations.RunPython.noop),
    ]
