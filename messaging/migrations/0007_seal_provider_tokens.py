"""Provider API keys stored in plain text are sealed (common.sealing), as token values already were."""

import django.core.validators
from django.db import migrations

import common.fields
from common.sealing import seal, unseal


def seal_provider_tokens(apps, schema_editor):
    Engine = apps.get_model("messaging", "Engine")
    for engine in Engine.objects.exclude(provider_token=""):
        Engine.objects.filter(pk=engine.pk).update(provider_token=seal(engine.provider_token))


def unseal_provider_tokens(apps, schema_editor):
    Engine = apps.get_model("messaging", "Engine")
    for engine in Engine.objects.exclude(provider_token=""):
        Engine.objects.filter(pk=engine.pk).update(provider_token=str(unseal(engine.provider_token)))


class Migration(migrations.Migration):

    dependencies = [
        ("messaging", "0006_phone_check_sealed_columns"),
    ]

    operations = [
        migrations.RunPython(seal_provider_tokens, unseal_provider_tokens),
        migrations.AlterField(
            model_name="engine",
            name="provider_token",
            field=common.fields.SealedTextField(
                help_text="API key, sealed at rest. Write-only: never shown after saving.",
                validators=[django.core.validators.MaxLengthValidator(255)],
            ),
        ),
    ]
