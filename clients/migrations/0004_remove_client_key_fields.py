from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0003_clientkey"),
    ]

    operations = [
        migrations.RemoveField(model_name="client", name="key_hash"),
        migrations.RemoveField(model_name="client", name="key_prefix"),
    ]
