import django.db.models.deletion
from django.db import migrations, models

# Scopes at the time of this migration: keys that existed before scopes keep reaching every operation.
_ALL_SCOPES = ["sms:send", "verify", "read"]


def keys_from_clients(apps, schema_editor):
    Client = apps.get_model("clients", "Client")
    ClientKey = apps.get_model("clients", "ClientKey")
    ClientKey.objects.bulk_create(
        ClientKey(client_id=client.pk, name="first key", prefix=client.key_prefix, key_hash=client.key_hash, scopes=_ALL_SCOPES)
        for client in Client.objects.all()
    )


def keys_to_clients(apps, schema_editor):
    # Each client gets back its oldest key that still works; its other keys are lost.
    Client = apps.get_model("clients", "Client")
    ClientKey = apps.get_model("clients", "ClientKey")
    for client in Client.objects.all():
        key = ClientKey.objects.filter(client_id=client.pk, revoked_at__isnull=True).order_by("created_at").first()
        if key is not None:
            Client.objects.filter(pk=client.pk).update(key_prefix=key.prefix, key_hash=key.key_hash)


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0002_idempotency_record"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClientKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("prefix", models.CharField(help_text="First characters of the key.", max_length=8, unique=True)),
                ("key_hash", models.CharField(editable=False, max_length=64, unique=True)),
                ("scopes", models.JSONField(default=list, help_text="Any of: sms:send, verify, read.")),
                ("expires_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("last_used_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "client",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="keys", to="clients.client"
                    ),
                ),
            ],
            options={
                "ordering": ["client_id", "created_at"],
            },
        ),
        migrations.RunPython(keys_from_clients, keys_to_clients),
    ]
