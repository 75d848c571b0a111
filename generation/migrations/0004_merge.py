from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0003_generation_soft_delete"),
        ("generation", "0003_lease_heartbeat_outbox"),
        ("generation", "0003_failure_reason_choices"),
    ]

    operations = []
