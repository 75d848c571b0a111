from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("cameos", "0004_challenge_refused_at"),
        ("cameos", "0004_claim_character_handles"),
    ]

    operations = []
