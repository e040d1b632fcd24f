from django.db import migrations, models

import common.fields


class Migration(migrations.Migration):

    dependencies = [
        ("verifications", "0002_ascii_phones"),
    ]

    operations = [
        migrations.AlterField(
            model_name="verification",
            name="code_sealed",
            field=common.fields.SealedColumn(blank=True, editable=False),
        ),
        migrations.AddConstraint(
            model_name="testnumber",
            constraint=models.CheckConstraint(
                condition=models.Q(("phone__regex", "^\\+[1-9][0-9]{6,14}$")), name="testnumber_phone_e164"
            ),
        ),
        migrations.AddConstraint(
            model_name="verification",
            constraint=models.CheckConstraint(
                condition=models.Q(("phone__regex", "^\\+[1-9][0-9]{6,14}$")), name="verification_phone_e164"
            ),
        ),
    ]
