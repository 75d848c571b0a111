from django.db import migrations


def claim_existing_character_handles(apps, schema_editor):
    """Characters made before usernames and handles shared one namespace; a handle that already equals a
    username (case-insensitively) keeps the one row it has."""
    Cameo = apps.get_model("cameos", "Cameo")
    Handle = apps.get_model("accounts", "Handle")
    for handle in Cameo.objects.filter(kind="character").values_list("handle", flat=True).iterator():
        if not Handle.objects.filter(name__iexact=handle).exists():
            Handle.objects.create(name=handle)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_handle"),
        ("cameos", "0003_upload_incoming_key"),
    ]

    operations = [migrations.RunPython(claim_existing_character_handles, migrations.RunPython.noop)]
