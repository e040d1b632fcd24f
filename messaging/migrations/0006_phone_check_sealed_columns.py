import django.core.validators
from django.db import migrations, models

import common.fields


class Migration(migrations.Migration):

    dependencies = [
        ("messaging", "0005_ascii_phones"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="verifyrequests",
            constraint=models.CheckConstraint(
                condition=models.Q(("phone__regex", "^\\+[1-9][0-9]{6,14}$")), name="vr_phone_e164"
            ),
        ),
        migrations.AlterField(
            model_name="verifyrequests",
            name="token_value",
            field=common.fields.SealedColumn(),
        ),
        # Text, still plain: the next migration seals the keys already stored.
        migrations.AlterField(
            model_name="engine",
            name="provider_token",
            field=common.fields.SealedColumn(
                help_text="API key, sealed at rest. Write-only: never shown after saving.",
                validators=[django.core.validators.MaxLengthValidator(255)],
            ),
        ),
    ]
